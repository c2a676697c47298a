// GatewayLink: the transport-neutral ends of a gateway ↔ core link (docs/ARCHITECTURE.md "Gateway ↔
// core link"). Each end hands envelopes to a `GatewayOutbound` and is handed the other end's through
// its `GatewayInbound`; the socket (`GatewayLineWriter`, JSON lines) and the in-process link of
// `verigate serve` (`InProcessGatewayLink`, the values themselves) are the two transports, so the
// core's handling and the gateway's CoreLink are written once for both.

import Synchronization

/// The link is closed: nothing more can be sent on it.
public struct GatewayLinkClosed: Error, Sendable, Equatable, CustomStringConvertible {
    /// Makes the error.
    public init() {}
    /// For logs.
    public var description: String { "gateway link closed" }
}

/// Where one end of a link sends its messages: the other end, over some transport.
public protocol GatewayOutbound: Sendable {
    /// Sends `envelope` (in order with the others sent from one task; it may leave with others in
    /// one write). `line` is its JSON line when the caller has it already (the journal's), saving
    /// a socket transport the encoding. Throws `GatewayLinkClosed` once the link is closed.
    func send(_ envelope: GatewayEnvelope, line: [UInt8]?) throws(GatewayLinkClosed)
    /// Closes the link; both ends' `GatewayInbound.closed` run once.
    func close()
}

extension GatewayOutbound {
    /// Sends `envelope` (see `send(_:line:)`).
    public func send(_ envelope: GatewayEnvelope) throws(GatewayLinkClosed) {
        try send(envelope, line: nil)
    }
}

/// What one end does with what arrives from the other: each message, then the close (once).
public struct GatewayInbound: Sendable {
    /// One message from the other end; called on the sender's thread, so it must not block.
    public let received: @Sendable (GatewayEnvelope) -> Void
    /// The link closed (by either end).
    public let closed: @Sendable () -> Void

    /// Makes the handlers.
    public init(received: @escaping @Sendable (GatewayEnvelope) -> Void, closed: @escaping @Sendable () -> Void) {
        self.received = received
        self.closed = closed
    }
}

/// The link of `verigate serve`: its gateway and its core in one process, the same messages passed
/// as values (no JSON, no socket). The core `listen`s; the gateway `connect`s, as it would to the
/// socket, and may reconnect after a close. A send hands the envelope straight to the other end's
/// `GatewayInbound.received`, on the sender's thread.
public final class InProcessGatewayLink: Sendable {
    private let listener = Mutex<(@Sendable (any GatewayOutbound) -> GatewayInbound)?>(nil)

    /// Makes a link nobody listens on yet.
    public init() {}

    /// The core's side: `accept` gets each connecting gateway's outbound (to answer it) and returns
    /// what to do with its messages. Replaces an earlier listener.
    public func listen(_ accept: @escaping @Sendable (any GatewayOutbound) -> GatewayInbound) {
        listener.withLock { $0 = accept }
    }

    /// Accepts no more connections (those open stay open until closed).
    public func stopListening() {
        listener.withLock { $0 = nil }
    }

    /// Whether a core listens.
    public var isListening: Bool { listener.withLock { $0 != nil } }

    /// The gateway's side: connects, `inbound` receiving the core's messages; returns the outbound
    /// to the core. Throws `GatewayLinkClosed` when no core listens (as a socket refuses).
    public func connect(_ inbound: GatewayInbound) throws(GatewayLinkClosed) -> any GatewayOutbound {
        guard let accept = listener.withLock({ $0 }) else { throw GatewayLinkClosed() }
        let connection = InProcessConnection(gateway: inbound)
        connection.attachCore(accept(InProcessEnd(connection: connection, toCore: false)))
        return InProcessEnd(connection: connection, toCore: true)
    }
}

/// One in-process connection: both ends' handlers while it is open.
private final class InProcessConnection: Sendable {
    private struct State {
        var open = true
        var gateway: GatewayInbound
        var core: GatewayInbound?
    }
    private let state: Mutex<State>

    init(gateway: GatewayInbound) {
        state = Mutex(State(gateway: gateway))
    }

    func attachCore(_ core: GatewayInbound) {
        state.withLock { $0.core = core }
    }

    func send(_ envelope: GatewayEnvelope, toCore: Bool) throws(GatewayLinkClosed) {
        let target = state.withLock { $0.open ? (toCore ? $0.core : $0.gateway) : nil }
        guard let target else { throw GatewayLinkClosed() }
        target.received(envelope)
    }

    func close() {
        let ends: [GatewayInbound] = state.withLock { state in
            guard state.open else { return [] }
            state.open = false
            return [state.gateway] + (state.core.map { [$0] } ?? [])
        }
        for end in ends { end.closed() }
    }
}

/// One end's outbound on an in-process connection.
private struct InProcessEnd: GatewayOutbound {
    let connection: InProcessConnection
    let toCore: Bool

    func send(_ envelope: GatewayEnvelope, line: [UInt8]?) throws(GatewayLinkClosed) {
        try connection.send(envelope, toCore: toCore)
    }

    func close() {
        connection.close()
    }
}
