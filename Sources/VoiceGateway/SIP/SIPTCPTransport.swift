// SIPTCPTransport: SIP over TCP (RFC 3261 §18, §18.3 framing by Content-Length) on SwiftNIO, with
// connection reuse in both directions (§18.2.2: responses go back over the request's connection), an
// idle timeout, a cap on connections in all and per remote IP, and RFC 5626 §4.4.1 CRLF keep-alive
// (a double-CRLF ping gets a CRLF pong). A framing error ends the connection after the reply the
// parser names. The same transport carries SIP over TLS (§26.2, RFC 5630) with a swift-nio-ssl handler
// first in each connection's pipeline (SIPTLSSettings.swift).

import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SIPMessage

/// A TCP (or TLS) listener plus the open connections (accepted and dialled), keyed by remote address.
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

    /// Listens on `address`, over TLS when `tls` is given. `sink` must outlive the transport (the
    /// endpoint owns both). `maxConnectionsPerIP` keeps one remote address from taking every slot.
    static func listen(
        _ address: SocketAddress, on eventLoop: EventLoop, limits: SIPParserLimits, idleTimeout: TimeAmount, maxConnections: Int,
        maxConnectionsPerIP: Int, tls: SIPTLSContexts? = nil, logger: Logger, sink: SIPTransportSink
    ) async throws -> SIPTCPTransport {
        // The table exists before the listener, so the first accepted connection finds it.
        let connections = SIPTCPConnections(
            eventLoop: eventLoop, limits: limits, idleTimeout: idleTimeout, maxConnections: maxConnections, maxConnectionsPerIP: maxConnectionsPerIP,
            tls: tls, logger: logger, sink: sink
        )
        let server = try await ServerBootstrap(group: eventLoop, childGroup: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try connections.configure(channel, side: .accepted) }
            }
            .bind(to: address)
            .get()
        return SIPTCPTransport(serverChannel: server, connections: connections)
    }

    /// TCP, or TLS when opened with TLS contexts.
    var transportProtocol: SIPTransportProtocol { connections.transportProtocol }

    /// Number of open connections. Call on the event loop.
    var connectionCount: Int { connections.count }

    /// Sends over the open connection to `address`, or dials one (§18.1.1, §18.2.2 item 1 falls back to
    /// a new connection when the request's is gone). Call on the event loop.
    func send(_ buffer: ByteBuffer, to address: SocketAddress) {
        connections.send(buffer, to: address, serverName: nil)
    }

    /// Over TLS, a new connection verifies that the server's certificate names `serverName` (RFC
    /// 5922 §7.2), or the IP address when nil. Call on the event loop.
    func send(_ buffer: ByteBuffer, to address: SocketAddress, serverName: String?) {
        connections.send(buffer, to: address, serverName: serverName)
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
        /// TLS: the names each open connection's certificate was verified for (the server name we
        /// dialled, or the client certificate's SIP domains), lowercased.
        var names: [SocketAddress: [String]] = [:]
    }

    let eventLoop: EventLoop
    /// The most connections kept open at once; beyond it new ones are refused.
    let maxConnections: Int
    /// The most connections with one remote IP address.
    let maxConnectionsPerIP: Int
    /// TCP, or TLS when `tls` is set.
    let transportProtocol: SIPTransportProtocol
    /// Log events start with this: `sip.tcp` or `sip.tls`.
    let logPrefix: String
    private let limits: SIPParserLimits
    private let idleTimeout: TimeAmount
    private let tls: SIPTLSContexts?
    private let logger: Logger
    private let sink: SIPTransportSink
    private let table: NIOLoopBoundBox<Table>

    init(
        eventLoop: EventLoop, limits: SIPParserLimits, idleTimeout: TimeAmount, maxConnections: Int, maxConnectionsPerIP: Int, tls: SIPTLSContexts?,
        logger: Logger, sink: SIPTransportSink
    ) {
        self.eventLoop = eventLoop
        self.limits = limits
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.tls = tls
        self.transportProtocol = tls == nil ? .tcp : .tls
        self.logPrefix = tls == nil ? "sip.tcp" : "sip.tls"
        self.logger = logger
        self.sink = sink
        self.table = NIOLoopBoundBox.makeBoxSendingValue(Table(), eventLoop: eventLoop)
    }

    /// Which end opened a connection.
    enum Side {
        /// The listener accepted it.
        case accepted
        /// We dialled it; over TLS the server's certificate must name `serverName` (RFC 5922 §7.2).
        case dialled(serverName: String?)
    }

    /// Adds the TLS (when configured), framing, idle and dispatch handlers to a new connection.
    func configure(_ channel: Channel, side: Side) throws {
        var handlers: [ChannelHandler] = []
        if let tls {
            switch side {
            case .dialled(let serverName):
                // Without a name NIOSSL matches the certificate's SAN iPAddress against the address.
                handlers.append(try NIOSSLClientHandler(context: tls.client, serverHostname: serverName))
            case .accepted:
                handlers.append(NIOSSLServerHandler(context: tls.server))
            }
            handlers.append(SIPTLSHandshakeTimeoutHandler(timeout: tls.handshakeTimeout) { [logger] channel in
                logger.info("sip.tls.handshake_timeout", metadata: ["peer": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
            })
        }
        handlers += [
            IdleStateHandler(allTimeout: idleTimeout),
            ByteToMessageHandler(SIPStreamDecoder(parser: SIPMessageParser(limits: limits))),
            SIPTCPConnectionHandler(connections: self, side: side, logger: logger),
        ]
        try channel.pipeline.syncOperations.addHandlers(handlers)
    }

    /// Open connections.
    var count: Int { table.value.open.count }

    /// The peer a message from or a failure to `address` is reported as.
    private func peer(_ address: SocketAddress, serverName: String? = nil, tlsIdentities: [String] = []) -> SIPPeer {
        SIPPeer(transportProtocol, address, serverName: serverName, tlsIdentities: tlsIdentities)
    }

    /// See `SIPTCPTransport.send(_:to:serverName:)`.
    func send(_ buffer: ByteBuffer, to address: SocketAddress, serverName: String?) {
        // Over TLS a request for a server name reuses only a connection verified for that name
        // (RFC 5922 §7.2); another one is dialled and replaces it in the table.
        if let channel = table.value.open[address], tls == nil || serverName.map({ table.value.names[address]?.contains($0.lowercased()) == true }) ?? true {
            channel.writeAndFlush(buffer, promise: nil)
            return
        }
        if table.value.dialling[address] != nil {
            table.value.dialling[address]!.append(buffer)
            return
        }
        guard table.value.open.count < maxConnections else {
            logger.warning("\(logPrefix).connection_limit", metadata: ["peer": "\(address)"])
            reportFailure(to: address, serverName: serverName, error: SIPTCPConnectionLimitError(limit: maxConnections))
            return
        }
        table.value.dialling[address] = [buffer]
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel, side: .dialled(serverName: serverName)) }
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
                    self.logger.info("\(self.logPrefix).connect_failed", metadata: ["peer": "\(address)", "error": "\(error)", "dropped": "\(pending.count)"])
                    self.sink.sendFailed(to: self.peer(address, serverName: serverName), error: error)
                }
            }
    }

    /// Tells the endpoint that a message for `address` was dropped (§18.4), on a later loop turn: the
    /// caller may be inside a transaction's actions, which must finish before the error input.
    private func reportFailure(to address: SocketAddress, serverName: String?, error: any Error) {
        eventLoop.execute { self.sink.sendFailed(to: self.peer(address, serverName: serverName), error: error) }
    }

    /// A dialled TLS connection failed its handshake (the server's certificate is not trusted or
    /// does not name the server, RFC 5922 §7.2): a transport error for what waits on it (§18.4,
    /// RFC 3263 §4.3 failover).
    func handshakeFailed(_ channel: Channel, side: Side, error: any Error) {
        guard let remote = channel.remoteAddress else { return }
        switch side {
        case .dialled(let serverName):
            logger.warning("sip.tls.server_refused", metadata: ["peer": "\(remote)", "server_name": "\(serverName ?? "-")", "error": "\(error)"])
            sink.sendFailed(to: peer(remote, serverName: serverName), error: error)
        case .accepted:
            logger.info("sip.tls.handshake_failed", metadata: ["peer": "\(remote)", "error": "\(error)"])
        }
    }

    /// Registers an accepted or dialled connection; false when the limit in all or per IP is
    /// reached (refuse it).
    func connectionOpened(_ channel: Channel) -> Bool {
        guard let remote = channel.remoteAddress, table.value.open.count < maxConnections else { return false }
        let ip = remote.ipAddress
        guard table.value.open.keys.lazy.filter({ $0.ipAddress == ip }).count < maxConnectionsPerIP else { return false }
        table.value.open[remote] = channel
        return true
    }

    /// Forgets a closed connection.
    func connectionClosed(_ channel: Channel) {
        guard let remote = channel.remoteAddress, table.value.open[remote] === channel else { return }
        table.value.open[remote] = nil
        table.value.names[remote] = nil
    }

    /// Records the names a TLS connection's certificate was verified for.
    func verified(_ channel: Channel, names: [String]) {
        guard let remote = channel.remoteAddress, table.value.open[remote] === channel else { return }
        table.value.names[remote] = names.map { $0.lowercased() }
    }

    /// Hands a framed message to the endpoint; over TLS with the SIP domains of the client
    /// certificate the CA verified (mutual TLS, RFC 5922 §7.3), if any.
    func messageReceived(_ message: SIPMessage, on channel: Channel, tlsIdentities: [String]) {
        guard let remote = channel.remoteAddress else { return }
        sink.messageReceived(message, from: peer(remote, tlsIdentities: tlsIdentities))
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

/// Frames a TCP byte stream into SIP messages by Content-Length (§18.3), answering each RFC 5626
/// §4.4.1 keep-alive ping (CRLF CRLF between messages) with a pong (one CRLF).
struct SIPStreamDecoder: ByteToMessageDecoder {
    typealias InboundOut = SIPMessage
    var parser: SIPMessageParser

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        // Pings first: the parser would skip their CRLFs silently. A message's first byte is a
        // letter, so the common case costs one byte read and copies nothing.
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), first == 0x0D || first == 0x0A,
              let prefix = buffer.getBytes(at: buffer.readerIndex, length: min(4, buffer.readableBytes)),
              prefix.allSatisfy({ $0 == 0x0D || $0 == 0x0A }) {
            if prefix == [0x0D, 0x0A, 0x0D, 0x0A] {
                buffer.moveReaderIndex(forwardBy: 4)
                context.writeAndFlush(NIOAny(ByteBuffer(string: "\r\n")), promise: nil)
                continue
            }
            // A ping still arriving, or stray line ends (the parser skips them, §7.5).
            if prefix.count < 4, Array([0x0D, 0x0A, 0x0D, 0x0A].prefix(prefix.count)) == prefix { return .needMoreData }
            break
        }
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
    private let side: SIPTCPConnections.Side
    private let logger: Logger

    init(connections: SIPTCPConnections, side: SIPTCPConnections.Side, logger: Logger) {
        self.connections = connections
        self.side = side
        self.logger = logger
    }

    /// Over TLS: the verified client certificate's SIP domains (RFC 5922 §7.1), read once the handshake completes.
    private var tlsIdentities: [String] = []
    /// Over TLS: whether the handshake completed (a failure before it is a handshake failure).
    private var handshakeDone = false

    func channelActive(context: ChannelHandlerContext) {
        if !connections.connectionOpened(context.channel) {
            logger.warning("\(connections.logPrefix).connection_refused", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
            return
        }
        // A dialled TLS connection serves its server name from the start: NIOSSL holds what is
        // written until the handshake has verified the name, and fails it otherwise.
        if connections.transportProtocol == .tls, case .dialled(let serverName) = side {
            connections.verified(context.channel, names: serverName.map { [$0] } ?? [])
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.connectionClosed(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connections.messageReceived(unwrapInboundIn(data), on: context.channel, tlsIdentities: tlsIdentities)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            logger.debug("\(connections.logPrefix).idle_close", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
            context.close(promise: nil)
            return
        }
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            handshakeDone = true
            // A dialled connection's names were recorded when it opened (channelActive). An
            // accepted one is named by its client certificate: only one the CA verified gets this
            // far (`optionalVerification` fails the handshake on one it does not).
            if case .accepted = side {
                if let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate {
                    tlsIdentities = certificate.sipDomains
                }
                connections.verified(context.channel, names: tlsIdentities)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if connections.transportProtocol == .tls, !handshakeDone, !(error is SIPParseError) {
            connections.handshakeFailed(context.channel, side: side, error: error)
            context.close(promise: nil)
            return
        }
        // The stream cannot be re-synchronised after a framing error: reply if possible, then close.
        logger.debug("\(connections.logPrefix).unparsable", metadata: ["error": "\(error)"])
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
