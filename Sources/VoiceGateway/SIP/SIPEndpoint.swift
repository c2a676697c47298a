// SIPEndpoint: the NIO shell around SIPStack's pure machines (RFC 3261 §17 transactions, §12 dialogs,
// §8.2 UAS core). It owns the transports, runs the actions the machines emit, keeps their timers on
// one event loop, and hands calls to the application as `SIPCall` handles.
//
// Written here because no maintained Swift SIP user agent exists; the transports are SwiftNIO.

import Logging
import NIOCore
import NIOPosix
import SIPMessage
import SIPStack

/// A SIP user agent (UAS and UAC) on UDP, TCP and TLS. All mutable state is confined to `eventLoop` in a
/// `NIOLoopBoundBox` (every access checks the loop), so the class is checked `Sendable`; the public
/// API may be called from anywhere.
public final class SIPEndpoint: Sendable, SIPTransportSink {
    /// The loop that owns every transaction, dialog, timer and socket of this endpoint.
    public let eventLoop: EventLoop
    let configuration: SIPEndpointConfiguration
    let logger: Logger
    let uasCore: UASCore

    /// Calls that came in; the application answers, rings or rejects each.
    public let incomingCalls: AsyncStream<SIPCall>
    let incomingContinuation: AsyncStream<SIPCall>.Continuation

    /// The endpoint's mutable state. A class, so that each field is its own storage for Swift's
    /// exclusivity checks, as when they were stored properties of the endpoint.
    private final class LoopState {
        var transports: [any SIPTransport] = []
        var serverTransactions: TransactionTable<String, ServerEntry>
        var clientTransactions: [TransactionKey: ClientEntry] = [:]
        var calls: [SIPCallKey: CallState] = [:]
        var isShutDown = false

        init(serverTransactions: TransactionTable<String, ServerEntry>) {
            self.serverTransactions = serverTransactions
        }
    }

    /// Reading `value` preconditions that the caller runs on `eventLoop`.
    private let state: NIOLoopBoundBox<LoopState>

    /// The transports, in the order they were opened. On the loop.
    var transports: [any SIPTransport] {
        get { state.value.transports }
        _modify { yield &state.value.transports }
    }

    /// Live server transactions by key, limited per source and in total (§17.2). On the loop.
    var serverTransactions: TransactionTable<String, ServerEntry> {
        get { state.value.serverTransactions }
        _modify { yield &state.value.serverTransactions }
    }

    /// Live client transactions (§17.1). On the loop.
    var clientTransactions: [TransactionKey: ClientEntry] {
        get { state.value.clientTransactions }
        _modify { yield &state.value.clientTransactions }
    }

    /// Calls not yet ended. On the loop.
    var calls: [SIPCallKey: CallState] {
        get { state.value.calls }
        _modify { yield &state.value.calls }
    }

    /// Set by `shutdown()`: received messages and new calls are refused. On the loop.
    var isShutDown: Bool {
        get { state.value.isShutDown }
        _modify { yield &state.value.isShutDown }
    }

    private init(configuration: SIPEndpointConfiguration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.uasCore = UASCore(capabilities: configuration.capabilities)
        self.state = NIOLoopBoundBox.makeBoxSendingValue(
            LoopState(serverTransactions: TransactionTable(maxPerSource: configuration.maxTransactionsPerSource, maxTotal: configuration.maxTransactions)),
            eventLoop: eventLoop
        )
        (incomingCalls, incomingContinuation) = AsyncStream.makeStream(of: SIPCall.self)
    }

    /// Binds the configured UDP, TCP and TLS addresses on `eventLoop` and starts serving.
    public static func start(
        _ configuration: SIPEndpointConfiguration, on eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        logger: Logger = Logger(label: "verigate.sip")
    ) async throws -> SIPEndpoint {
        var openers: [SIPTransportOpener] = []
        for address in configuration.udp {
            openers.append { sink in
                try await SIPUDPTransport.bind(address, on: eventLoop, limits: configuration.parserLimits, logger: logger, sink: sink)
            }
        }
        for address in configuration.tcp {
            openers.append { sink in
                try await SIPTCPTransport.listen(
                    address, on: eventLoop, limits: configuration.parserLimits, idleTimeout: .nanoseconds(configuration.tcpIdleTimeout.nanoseconds),
                    maxConnections: configuration.maxTCPConnections, maxConnectionsPerIP: configuration.maxConnectionsPerIP, logger: logger, sink: sink
                )
            }
        }
        if !configuration.tls.isEmpty {
            guard let settings = configuration.tlsSettings else { throw SIPTLSSettingsError(setting: "tls", file: "", reason: "TLS listen addresses without a certificate") }
            // Built once: the files are read here, so a bad one stops the start.
            let contexts = try SIPTLSContexts(settings)
            for address in configuration.tls {
                openers.append { sink in
                    try await SIPTCPTransport.listen(
                        address, on: eventLoop, limits: configuration.parserLimits, idleTimeout: .nanoseconds(configuration.tcpIdleTimeout.nanoseconds),
                        maxConnections: configuration.maxTCPConnections, maxConnectionsPerIP: configuration.maxConnectionsPerIP, tls: contexts,
                        logger: logger, sink: sink
                    )
                }
            }
        }
        return try await start(configuration, on: eventLoop, logger: logger, transports: openers)
    }

    /// Opens one transport that hands what it receives to the given sink (the endpoint).
    typealias SIPTransportOpener = (any SIPTransportSink) async throws -> any SIPTransport

    /// Starts an endpoint over the transports `openers` open, in order, instead of the configured
    /// `udp` and `tcp` addresses (which are ignored). The deterministic tests (docs/TESTING.md) pass
    /// an in-memory transport and a `NIOAsyncTestingEventLoop`. When an opener throws, the transports
    /// already opened are closed.
    static func start(_ configuration: SIPEndpointConfiguration, on eventLoop: EventLoop, logger: Logger, transports openers: [SIPTransportOpener]) async throws -> SIPEndpoint {
        let endpoint = SIPEndpoint(configuration: configuration, eventLoop: eventLoop, logger: logger)
        do {
            for open in openers {
                let transport = try await open(endpoint)
                try await eventLoop.submit { endpoint.transports.append(transport) }.get()
            }
        } catch {
            await endpoint.shutdown()
            throw error
        }
        return endpoint
    }

    /// The bound UDP addresses (with the ports picked for port 0).
    public var udpAddresses: [SocketAddress] {
        get async { await localAddresses(.udp) }
    }

    /// The bound TCP addresses.
    public var tcpAddresses: [SocketAddress] {
        get async { await localAddresses(.tcp) }
    }

    /// The bound TLS addresses (RFC 3261 §26.2).
    public var tlsAddresses: [SocketAddress] {
        get async { await localAddresses(.tls) }
    }

    private func localAddresses(_ transportProtocol: SIPTransportProtocol) async -> [SocketAddress] {
        (try? await eventLoop.submit { self.transports.filter { $0.transportProtocol == transportProtocol }.map(\.localAddress) }.get()) ?? []
    }

    /// Counts of live calls and transactions and open TCP and TLS connections, to see that nothing leaks.
    public struct Statistics: Sendable, Equatable {
        /// Calls not yet ended.
        public var calls: Int
        /// Live server transactions.
        public var serverTransactions: Int
        /// Live client transactions.
        public var clientTransactions: Int
        /// Open TCP and TLS connections.
        public var tcpConnections: Int
    }

    /// The current counts.
    public func statistics() async throws -> Statistics {
        try await eventLoop.submit {
            Statistics(
                calls: self.calls.count, serverTransactions: self.serverTransactions.count, clientTransactions: self.clientTransactions.count,
                tcpConnections: self.transports.reduce(0) { $0 + $1.connectionCount }
            )
        }.get()
    }

    /// Ends every call (`.shutdown`), stops every timer and closes the sockets.
    public func shutdown() async {
        let transports: [any SIPTransport]? = try? await eventLoop.submit {
            self.isShutDown = true
            for key in Array(self.calls.keys) { self.endCall(key, .shutdown) }
            for key in self.serverTransactions.keys { self.serverTransactions.remove(key)?.cancelTimers() }
            for entry in self.clientTransactions.values {
                entry.cancelTimers()
                // A request outside calls learns it failed, on a later loop turn (never re-entrantly).
                if case .request(let handler) = entry.purpose { self.eventLoop.execute { handler(.transportError) } }
            }
            self.clientTransactions.removeAll()
            self.incomingContinuation.finish()
            return self.transports
        }.get()
        for transport in transports ?? [] { await transport.close() }
    }

    // MARK: Receiving

    /// Entry point from the transports (on the loop).
    func messageReceived(_ message: SIPMessage, from peer: SIPPeer) {
        eventLoop.preconditionInEventLoop()
        guard !isShutDown else { return }
        switch message {
        case .request(var request):
            SIPRouting.stampReceived(&request, from: peer.address)
            requestReceived(request, from: peer)
        case .response(let response):
            responseReceived(response, from: peer)
        }
    }

    /// Entry point from the transports when messages to `peer` could not be sent (on the loop):
    /// RFC 3261 §18.4, §17.1.1.2 and §17.1.2.2 make it a transport error for every client transaction
    /// whose next hop is `peer` (the INVITE's ends the call with `.transportError`, so a route tries
    /// its next trunk at once, RFC 3263 §4.3), and for every server transaction whose response goes
    /// there (§17.2.4).
    func sendFailed(to peer: SIPPeer, error: any Error) {
        eventLoop.preconditionInEventLoop()
        let clients = clientTransactions.filter { $0.value.peer == peer }.map(\.key)
        let servers = serverTransactions.keys.filter { serverTransactions[$0]?.peer == peer }
        logger.info("sip.send.failed", metadata: [
            "peer": "\(peer)", "error": "\(error)", "client_transactions": "\(clients.count)", "server_transactions": "\(servers.count)",
        ])
        for key in clients { runClient(key) { $0.transportErrorOccurred() } }
        for key in servers { runServer(key) { $0.transportErrorOccurred() } }
    }

    // MARK: Sending

    /// Serializes and sends a message to `peer` over the matching transport (§18.1.1, §18.2.2).
    func send(_ message: SIPMessage, to peer: SIPPeer) {
        if let drop = configuration.dropOutbound, drop(message) { return }
        var buffer = ByteBufferAllocator().buffer(capacity: 1_024)
        message.write(to: &buffer)
        // The transport of the peer's protocol and address family, else any of its protocol; no
        // array is made per message.
        let transports = self.transports
        guard let transport = transports.first(where: { $0.transportProtocol == peer.transport && $0.localAddress.protocol == peer.address.protocol })
                ?? transports.first(where: { $0.transportProtocol == peer.transport }) else {
            logger.warning("sip.send.no_transport", metadata: ["peer": "\(peer)"])
            // A transport error for the transactions waiting on `peer` (§18.4), once the caller's
            // actions are done.
            eventLoop.execute { self.sendFailed(to: peer, error: SIPCallError(description: "no \(peer.transport.rawValue) transport")) }
            return
        }
        transport.send(buffer, to: peer.address, serverName: peer.serverName)
    }

    /// Where a response to a request from `peer` goes: the same connection for TCP, the §18.2.2 /
    /// RFC 3581 address for UDP.
    func responsePeer(for response: SIPResponse, requestFrom peer: SIPPeer) -> SIPPeer {
        guard peer.transport == .udp, let via = try? response.headers.topVia(), let address = SIPRouting.responseDestination(topVia: via) else { return peer }
        return SIPPeer(.udp, address)
    }

    /// A new Via for a request we send over `transport` (§8.1.1.7, with rport, RFC 3581 §3).
    func makeVia(_ transport: SIPTransportProtocol, branch: String = SIPTokens.branch()) -> SIPVia {
        let (host, port) = localHostPort(transport)
        return SIPVia(transport: transport.rawValue, host: host, port: port, branch: branch, parameters: [.init(name: "rport")])
    }

    /// Our Contact for `transport` (§8.1.1.8).
    func makeContact(_ transport: SIPTransportProtocol) -> SIPNameAddress {
        let (host, port) = localHostPort(transport)
        var uri = SIPURI(user: configuration.contactUser, host: host, port: port)
        // RFC 5630 §3.1.3: `transport=tls` on a sip: URI rather than sips: (which demands TLS on every hop).
        if transport != .udp { uri.parameters.set("transport", transport.rawValue.lowercased()) }
        return SIPNameAddress(uri: .sip(uri))
    }

    func localHostPort(_ transport: SIPTransportProtocol) -> (String, Int) {
        let address = transports.first { $0.transportProtocol == transport }?.localAddress
        if let external = configuration.externalHost {
            // Behind NAT: the public address that forwards to us (sip_external_address).
            return (external, configuration.externalPort ?? address?.port ?? 5060)
        }
        let ip = address?.ipAddress ?? "127.0.0.1"
        let wildcard = ip == "0.0.0.0" || ip == "::"
        let host = wildcard ? (configuration.advertisedHost ?? "127.0.0.1") : ip
        // Stored without IPv6 brackets: SIPVia and SIPURI add them when rendering (§25.1 IPv6reference).
        return (host, address?.port ?? 5060)
    }

    // MARK: Timers

    /// Runs `body` on the loop after `delay`.
    func schedule(_ delay: Duration, _ body: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        eventLoop.scheduleTask(in: .nanoseconds(delay.nanoseconds)) { body() }
    }
}

extension Duration {
    /// The duration in whole nanoseconds (for NIO's `TimeAmount`).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
