// SIPTCPTransport: SIP over TCP (RFC 3261 §18, §18.3 framing by Content-Length) on SwiftNIO, with
// connection reuse in both directions (§18.2.2: responses go back over the request's connection) and
// an idle timeout. A framing error ends the connection after the reply the parser names.

import Logging
import NIOCore
import NIOPosix
import SIPMessage

/// A TCP listener plus the open connections (accepted and dialled), keyed by remote address.
/// Every connection lives on the endpoint's event loop; the table is confined to it.
final class SIPTCPTransport: @unchecked Sendable {
    let eventLoop: EventLoop
    /// The listening socket.
    let serverChannel: Channel
    /// The address the listener is bound to.
    let localAddress: SocketAddress
    private let limits: SIPParserLimits
    private let idleTimeout: TimeAmount
    private let logger: Logger
    private let sink: SIPTransportSink
    /// Open connections by remote address (loop-confined).
    private var connections: [SocketAddress: Channel] = [:]
    /// Connections being dialled, with the messages waiting for them (loop-confined).
    private var dialling: [SocketAddress: [ByteBuffer]] = [:]
    /// The most connections kept open at once; beyond it new ones are refused.
    let maxConnections: Int

    private init(eventLoop: EventLoop, serverChannel: Channel, limits: SIPParserLimits, idleTimeout: TimeAmount, maxConnections: Int, logger: Logger, sink: SIPTransportSink) {
        self.eventLoop = eventLoop
        self.serverChannel = serverChannel
        self.localAddress = serverChannel.localAddress!
        self.limits = limits
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.logger = logger
        self.sink = sink
    }

    /// Listens on `address`. `sink` must outlive the transport (the endpoint owns both).
    static func listen(
        _ address: SocketAddress, on eventLoop: EventLoop, limits: SIPParserLimits, idleTimeout: TimeAmount, maxConnections: Int,
        logger: Logger, sink: SIPTransportSink
    ) async throws -> SIPTCPTransport {
        let box = TransportBox()
        let server = try await ServerBootstrap(group: eventLoop, childGroup: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let transport = box.transport else { throw ChannelError.ioOnClosedChannel }
                    try transport.configure(channel)
                }
            }
            .bind(to: address)
            .get()
        let transport = SIPTCPTransport(
            eventLoop: eventLoop, serverChannel: server, limits: limits, idleTimeout: idleTimeout, maxConnections: maxConnections, logger: logger, sink: sink
        )
        box.transport = transport
        return transport
    }

    /// Adds the framing, idle and dispatch handlers to a new connection.
    private func configure(_ channel: Channel) throws {
        let handlers: [ChannelHandler] = [
            IdleStateHandler(allTimeout: idleTimeout),
            ByteToMessageHandler(SIPStreamDecoder(parser: SIPMessageParser(limits: limits))),
            SIPTCPConnectionHandler(transport: self, logger: logger),
        ]
        try channel.pipeline.syncOperations.addHandlers(handlers)
    }

    /// Number of open connections.
    var connectionCount: Int {
        eventLoop.preconditionInEventLoop()
        return connections.count
    }

    /// Sends over the open connection to `address`, or dials one (§18.1.1, §18.2.2 item 1 falls back to
    /// a new connection when the request's is gone). Call on the event loop.
    func send(_ buffer: ByteBuffer, to address: SocketAddress) {
        eventLoop.preconditionInEventLoop()
        if let channel = connections[address] {
            channel.writeAndFlush(buffer, promise: nil)
            return
        }
        if dialling[address] != nil {
            dialling[address]!.append(buffer)
            return
        }
        guard connections.count < maxConnections else {
            logger.warning("sip.tcp.connection_limit", metadata: ["peer": "\(address)"])
            return
        }
        dialling[address] = [buffer]
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel) }
            }
            .connect(to: address)
            .whenComplete { result in
                let pending = self.dialling.removeValue(forKey: address) ?? []
                switch result {
                case .success(let channel):
                    for message in pending { channel.write(message, promise: nil) }
                    channel.flush()
                case .failure(let error):
                    self.logger.info("sip.tcp.connect_failed", metadata: ["peer": "\(address)", "error": "\(error)"])
                }
            }
    }

    fileprivate func connectionOpened(_ channel: Channel) -> Bool {
        guard let remote = channel.remoteAddress, connections.count < maxConnections else { return false }
        connections[remote] = channel
        return true
    }

    fileprivate func connectionClosed(_ channel: Channel) {
        guard let remote = channel.remoteAddress, connections[remote] === channel else { return }
        connections[remote] = nil
    }

    fileprivate func messageReceived(_ message: SIPMessage, on channel: Channel) {
        guard let remote = channel.remoteAddress else { return }
        sink.messageReceived(message, from: SIPPeer(.tcp, remote))
    }

    /// Closes the listener and every connection.
    func close() async {
        try? await serverChannel.close()
        let open = try? await eventLoop.submit { Array(self.connections.values) }.get()
        for channel in open ?? [] { try? await channel.close() }
    }
}

/// Holds the transport for the child initializer, which runs only after `listen` returned.
private final class TransportBox: @unchecked Sendable {
    var transport: SIPTCPTransport?
}

/// Frames a TCP byte stream into SIP messages by Content-Length (§18.3).
struct SIPStreamDecoder: ByteToMessageDecoder {
    typealias InboundOut = SIPMessage
    var parser: SIPMessageParser

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try parser.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Registers the connection, forwards messages, and ends the connection on a framing error or idle.
private final class SIPTCPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = SIPMessage
    typealias OutboundOut = ByteBuffer

    private let transport: SIPTCPTransport
    private let logger: Logger

    init(transport: SIPTCPTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        if !transport.connectionOpened(context.channel) {
            logger.warning("sip.tcp.connection_refused", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        transport.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        transport.messageReceived(unwrapInboundIn(data), on: context.channel)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            logger.debug("sip.tcp.idle_close", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // The stream cannot be re-synchronised after a framing error: reply if possible, then close.
        logger.debug("sip.tcp.unparsable", metadata: ["error": "\(error)"])
        if let parseError = error as? SIPParseError, let rejection = parseError.rejection {
            var bytes = context.channel.allocator.buffer(capacity: 512)
            rejection.write(to: &bytes)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(bytes)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}
