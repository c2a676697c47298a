// SIPTCPTransport: SIP over TCP (RFC 3261 §18, §18.3 framing by Content-Length) on SwiftNIO, with
// connection reuse in both directions (§18.2.2: responses go back over the request's connection) and
// an idle timeout. A framing error ends the connection after the reply the parser names.

import Logging
import NIOCore
import NIOPosix
import SIPMessage

/// A TCP listener plus the open connections (accepted and dialled), keyed by remote address.
/// Every connection lives on the endpoint's event loop; the connection table is loop-bound
/// (`SIPTCPConnections`), so the type is checked `Sendable`.
final class SIPTCPTransport: SIPTransport {
    /// The listening socket.
    let serverChannel: Channel
    /// The address the listener is bound to.
    let localAddress: SocketAddress
    /// The open and dialling connections.
    private let connections: SIPTCPConnections

    private init(serverChannel: Channel, connections: SIPTCPConnections) {
        self.serverChannel = serverChannel
        self.localAddress = serverChannel.localAddress!
        self.connections = connections
    }

    /// Listens on `address`. `sink` must outlive the transport (the endpoint owns both).
    static func listen(
        _ address: SocketAddress, on eventLoop: EventLoop, limits: SIPParserLimits, idleTimeout: TimeAmount, maxConnections: Int,
        logger: Logger, sink: SIPTransportSink
    ) async throws -> SIPTCPTransport {
        // The table exists before the listener, so the first accepted connection finds it.
        let connections = SIPTCPConnections(eventLoop: eventLoop, limits: limits, idleTimeout: idleTimeout, maxConnections: maxConnections, logger: logger, sink: sink)
        let server = try await ServerBootstrap(group: eventLoop, childGroup: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try connections.configure(channel) }
            }
            .bind(to: address)
            .get()
        return SIPTCPTransport(serverChannel: server, connections: connections)
    }

    /// Always TCP.
    var transportProtocol: SIPTransportProtocol { .tcp }

    /// Number of open connections. Call on the event loop.
    var connectionCount: Int { connections.count }

    /// Sends over the open connection to `address`, or dials one (§18.1.1, §18.2.2 item 1 falls back to
    /// a new connection when the request's is gone). Call on the event loop.
    func send(_ buffer: ByteBuffer, to address: SocketAddress) {
        connections.send(buffer, to: address)
    }

    /// Closes the listener and every connection.
    func close() async {
        try? await serverChannel.close()
        await connections.closeAll()
    }
}

/// The connections of one `SIPTCPTransport`: their table lives in a `NIOLoopBoundBox` on the
/// endpoint's event loop (every access checks the loop); the rest is immutable.
private final class SIPTCPConnections: Sendable {
    /// The table, touched only on the loop.
    private struct Table {
        /// Open connections by remote address.
        var open: [SocketAddress: Channel] = [:]
        /// Connections being dialled, with the messages waiting for them.
        var dialling: [SocketAddress: [ByteBuffer]] = [:]
    }

    let eventLoop: EventLoop
    /// The most connections kept open at once; beyond it new ones are refused.
    let maxConnections: Int
    private let limits: SIPParserLimits
    private let idleTimeout: TimeAmount
    private let logger: Logger
    private let sink: SIPTransportSink
    private let table: NIOLoopBoundBox<Table>

    init(eventLoop: EventLoop, limits: SIPParserLimits, idleTimeout: TimeAmount, maxConnections: Int, logger: Logger, sink: SIPTransportSink) {
        self.eventLoop = eventLoop
        self.limits = limits
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.logger = logger
        self.sink = sink
        self.table = NIOLoopBoundBox.makeBoxSendingValue(Table(), eventLoop: eventLoop)
    }

    /// Adds the framing, idle and dispatch handlers to a new connection.
    func configure(_ channel: Channel) throws {
        let handlers: [ChannelHandler] = [
            IdleStateHandler(allTimeout: idleTimeout),
            ByteToMessageHandler(SIPStreamDecoder(parser: SIPMessageParser(limits: limits))),
            SIPTCPConnectionHandler(connections: self, logger: logger),
        ]
        try channel.pipeline.syncOperations.addHandlers(handlers)
    }

    /// Open connections.
    var count: Int { table.value.open.count }

    /// See `SIPTCPTransport.send(_:to:)`.
    func send(_ buffer: ByteBuffer, to address: SocketAddress) {
        if let channel = table.value.open[address] {
            channel.writeAndFlush(buffer, promise: nil)
            return
        }
        if table.value.dialling[address] != nil {
            table.value.dialling[address]!.append(buffer)
            return
        }
        guard table.value.open.count < maxConnections else {
            logger.warning("sip.tcp.connection_limit", metadata: ["peer": "\(address)"])
            reportFailure(to: address, error: SIPTCPConnectionLimitError(limit: maxConnections))
            return
        }
        table.value.dialling[address] = [buffer]
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel) }
            }
            .connect(to: address)
            .whenComplete { result in
                // On the loop: the bootstrap's group is the endpoint's loop.
                let pending = self.table.value.dialling.removeValue(forKey: address) ?? []
                switch result {
                case .success(let channel):
                    for message in pending { channel.write(message, promise: nil) }
                    channel.flush()
                case .failure(let error):
                    self.logger.info("sip.tcp.connect_failed", metadata: ["peer": "\(address)", "error": "\(error)", "dropped": "\(pending.count)"])
                    self.sink.sendFailed(to: SIPPeer(.tcp, address), error: error)
                }
            }
    }

    /// Tells the endpoint that a message for `address` was dropped (§18.4), on a later loop turn: the
    /// caller may be inside a transaction's actions, which must finish before the error input.
    private func reportFailure(to address: SocketAddress, error: any Error) {
        eventLoop.execute { self.sink.sendFailed(to: SIPPeer(.tcp, address), error: error) }
    }

    /// Registers an accepted or dialled connection; false when the limit is reached (refuse it).
    func connectionOpened(_ channel: Channel) -> Bool {
        guard let remote = channel.remoteAddress, table.value.open.count < maxConnections else { return false }
        table.value.open[remote] = channel
        return true
    }

    /// Forgets a closed connection.
    func connectionClosed(_ channel: Channel) {
        guard let remote = channel.remoteAddress, table.value.open[remote] === channel else { return }
        table.value.open[remote] = nil
    }

    /// Hands a framed message to the endpoint.
    func messageReceived(_ message: SIPMessage, on channel: Channel) {
        guard let remote = channel.remoteAddress else { return }
        sink.messageReceived(message, from: SIPPeer(.tcp, remote))
    }

    /// Closes every open connection.
    func closeAll() async {
        let open = try? await eventLoop.submit { Array(self.table.value.open.values) }.get()
        for channel in open ?? [] { try? await channel.close() }
    }
}

/// A message was dropped because `maxConnections` connections are open already.
struct SIPTCPConnectionLimitError: Error, CustomStringConvertible {
    /// The limit that was reached.
    let limit: Int
    var description: String { "TCP connection limit (\(limit)) reached" }
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

    private let connections: SIPTCPConnections
    private let logger: Logger

    init(connections: SIPTCPConnections, logger: Logger) {
        self.connections = connections
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        if !connections.connectionOpened(context.channel) {
            logger.warning("sip.tcp.connection_refused", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connections.messageReceived(unwrapInboundIn(data), on: context.channel)
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
