// SIPUDPTransport: SIP over UDP (RFC 3261 §18) on SwiftNIO. Each datagram is one message (§18.3);
// unparsable requests get the status the parser names, garbage is dropped, nothing stops the listener.

import Logging
import NIOCore
import NIOPosix
import SIPMessage

/// A bound UDP socket carrying SIP, on the endpoint's event loop. Holds no mutable state: the
/// channel is thread-safe, so the type is checked `Sendable`.
final class SIPUDPTransport: SIPTransport {
    /// The bound socket.
    let channel: Channel
    /// The address the socket is bound to.
    let localAddress: SocketAddress

    private init(channel: Channel) {
        self.channel = channel
        self.localAddress = channel.localAddress!
    }

    /// Always UDP.
    var transportProtocol: SIPTransportProtocol { .udp }

    /// UDP has no connections.
    var connectionCount: Int { 0 }

    /// The largest UDP payload (RFC 768 length field less the 8-octet header).
    static let maxDatagramSize = 65_535 - 8

    /// Binds `address` on `eventLoop` and passes every parsed message to `sink`.
    static func bind(_ address: SocketAddress, on eventLoop: EventLoop, limits: SIPParserLimits, logger: Logger, sink: SIPTransportSink) async throws -> SIPUDPTransport {
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
            // §18.1.1: a datagram may carry up to 65,535 octets; NIO's default reads only 2,048.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramSize))
            // Drain queued datagrams (responses that stop retransmission timers) before the
            // loop runs due timers, so a stalled process does not resend what was answered.
            .channelOption(.maxMessagesPerRead, value: 64)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SIPUDPHandler(parser: SIPMessageParser(limits: limits), logger: logger, sink: sink))
                }
            }
            .bind(to: address)
            .get()
        return SIPUDPTransport(channel: channel)
    }

    /// Sends one message to `address` (§18.1.1: a datagram per message).
    func send(_ buffer: ByteBuffer, to address: SocketAddress) {
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
    }

    /// Closes the socket.
    func close() async {
        try? await channel.close()
    }
}

/// Parses datagrams and forwards them; replies to broken requests (§21.4.1) and drops garbage.
private final class SIPUDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let parser: SIPMessageParser
    private let logger: Logger
    private let sink: SIPTransportSink

    init(parser: SIPMessageParser, logger: Logger, sink: SIPTransportSink) {
        self.parser = parser
        self.logger = logger
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        // RFC 5626 §3.5.1 keep-alives (CRLF) and empty datagrams: nothing to do.
        if envelope.data.readableBytesView.allSatisfy({ $0 == 0x0D || $0 == 0x0A }) { return }
        do {
            // A right-sized copy: parsed messages keep slices of their bytes, and holding the
            // 64 KiB receive buffer would keep it from being reused for the next datagram.
            var datagram = context.channel.allocator.buffer(capacity: envelope.data.readableBytes)
            datagram.writeImmutableBuffer(envelope.data)
            let message = try parser.parseDatagram(datagram)
            sink.messageReceived(message, from: SIPPeer(.udp, envelope.remoteAddress))
        } catch {
            logger.debug("sip.udp.unparsable", metadata: ["peer": "\(envelope.remoteAddress)", "error": "\(error)"])
            if let rejection = error.rejection {
                var bytes = context.channel.allocator.buffer(capacity: 512)
                rejection.write(to: &bytes)
                // Back to the source: the Via could not be stamped (RFC 3581 behaviour for every peer).
                context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: bytes)), promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port unreachable and the like surface here on Linux; the socket stays open.
        logger.debug("sip.udp.error", metadata: ["error": "\(error)"])
    }
}
