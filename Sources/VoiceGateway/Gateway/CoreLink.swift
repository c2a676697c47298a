// CoreLink: the gateway's end of the link to the core (docs/ARCHITECTURE.md "Gateway ↔ core link"). Connects
// (to the Unix socket, or in `verigate serve` to the core of the same process), says hello, matches
// answers to questions by id, keeps every outcome until the core acknowledges it (resent after a
// reconnect, so a core restart loses nothing), and reconnects with backoff. While the core is away,
// questions fail at once so calls are refused quickly. The outcomes wait in an OutcomeJournal; with
// a file there, a gateway restart loses none either. Both transports share all of this; they differ
// only in `connectOnce`.

import GatewayProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// How a gateway reaches its core.
public enum CoreTransport: Sendable {
    /// The core's Unix socket at this path (JSON lines).
    case socket(path: String)
    /// The core of this process (`verigate serve`): messages passed as values.
    case inProcess(InProcessGatewayLink)
}

/// Why a question to the core got no answer.
public enum CoreLinkError: Error, Sendable, Equatable {
    /// Not connected to the core now.
    case unavailable
    /// No answer within the time given.
    case timeout
}

/// A connection to the verification core that survives core restarts.
public final class CoreLink: Sendable {
    /// How the core is reached.
    public let transport: CoreTransport
    /// The longest line accepted from the core's socket; a longer one closes the connection.
    public let maxLineLength = 65_536
    let hello: Hello
    let logger: Logger
    /// Where outcomes wait for the core's acknowledgement (in memory, or also in a file).
    public let journal: OutcomeJournal
    private let eventLoop: EventLoop

    private struct State {
        /// The connection; writes go straight to it.
        var outbound: (any GatewayOutbound)?
        var ready = false
        var nextID = 1
        var waiting: [Int: CheckedContinuation<GatewayMessage, Error>] = [:]
        var readyWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    /// Calls the core asks this gateway to place (`originate`), in arrival order.
    public let originations: AsyncStream<Originate>
    private let originationContinuation: AsyncStream<Originate>.Continuation

    /// Makes a link to the core's socket at `path`; `run()` connects. Outcomes an earlier run left in
    /// `journal` are sent first.
    public convenience init(path: String, gateway: String, channels: [String], systemNumbers: [String] = [], journal: OutcomeJournal = OutcomeJournal(), logger: Logger) {
        self.init(transport: .socket(path: path), gateway: gateway, channels: channels, systemNumbers: systemNumbers, journal: journal, logger: logger)
    }

    /// Makes a link over `transport`; `run()` connects. Outcomes an earlier run left in `journal`
    /// are sent first.
    public init(transport: CoreTransport, gateway: String, channels: [String], systemNumbers: [String] = [], journal: OutcomeJournal = OutcomeJournal(),
                logger: Logger) {
        self.transport = transport
        self.hello = Hello(gateway: gateway, channels: channels, systemNumbers: systemNumbers.isEmpty ? nil : systemNumbers)
        self.logger = logger
        self.journal = journal
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        (originations, originationContinuation) = AsyncStream.makeStream(of: Originate.self)
        if !journal.recovered.isEmpty {
            logger.notice("gateway.journal.recovered", metadata: ["path": "\(journal.path ?? "-")", "outcomes": "\(journal.recovered.count)"])
        }
    }

    /// Whether the core answered hello on the current connection.
    public var isConnected: Bool { state.withLock { $0.ready } }

    /// Outcomes waiting for the core's acknowledgement.
    public var unacknowledgedOutcomes: Int { journal.pendingOutcomes }

    /// Waits until the link is connected (for tests and start-up ordering).
    public func waitUntilConnected() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.ready { return true }
                state.readyWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Connects and reconnects (backoff 100 ms doubling to 5 s) until the task is cancelled.
    public func run() async {
        var backoff: Duration = .milliseconds(100)
        defer { originationContinuation.finish() }
        while !Task.isCancelled {
            do {
                try await connectOnce()
                backoff = .milliseconds(100)
            } catch {
                logger.debug("gateway.core.connect_failed", metadata: ["core": "\(transport)", "error": "\(error)"])
            }
            disconnected()
            guard !Task.isCancelled else { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    private func connectOnce() async throws {
        switch transport {
        case .socket(let path): try await connectSocket(path)
        case .inProcess(let link): try await connectInProcess(link)
        }
    }

    /// The socket: lines framed by GatewayLineDecoder, written by GatewayLineWriter. A line that is
    /// too long or not a message closes the connection (and the link reconnects).
    private func connectSocket(_ path: String) async throws {
        let maxLineLength = maxLineLength
        let channel = try await ClientBootstrap(group: eventLoop)
            .connect(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(GatewayLineDecoder(maxLineLength: maxLineLength)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let writer = GatewayLineWriter(channel: channel.channel)
        try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, _ in
                let helloID = opened(writer)
                try writer.send(GatewayEnvelope(.hello(hello), id: helloID))
                do {
                    try await GatewayDecoder.messages(in: inbound, skipped: { error in
                        logger.warning("gateway.core.unknown_type", metadata: ["error": "\(error)"])
                    }) { received($0, helloID: helloID, connection: writer) }
                } catch let error as GatewayProtocolError {
                    logger.warning("gateway.core.bad_line", metadata: ["error": "\(error)", "action": "closing the connection"])
                    throw error
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    /// The core of this process: the same messages as values; returns once the link closes (or,
    /// cancelled, after closing it).
    private func connectInProcess(_ link: InProcessGatewayLink) async throws {
        let closed = ClosedSignal()
        let helloID = Mutex(0)
        let connection = Mutex<(any GatewayOutbound)?>(nil)
        let outbound = try link.connect(GatewayInbound(
            received: { [self] envelope in
                guard let outbound = connection.withLock({ $0 }) else { return }
                received(envelope, helloID: helloID.withLock { $0 }, connection: outbound)
            },
            closed: { closed.signal() }))
        connection.withLock { $0 = outbound }
        let id = opened(outbound)
        helloID.withLock { $0 = id }
        await withTaskCancellationHandler {
            do { try outbound.send(GatewayEnvelope(.hello(hello), id: id)) } catch { outbound.close() }
            await closed.wait()
        } onCancel: {
            outbound.close()
        }
    }

    /// A connection opened: it becomes the one questions go to; returns its hello's id.
    private func opened(_ outbound: any GatewayOutbound) -> Int {
        state.withLock { state in
            state.outbound = outbound
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    private func received(_ envelope: GatewayEnvelope, helloID: Int, connection: any GatewayOutbound) {
        if case .helloOK(let ok) = envelope.message, envelope.inReplyTo == helloID {
            // Under the state lock, as in `report`: each outcome goes out once, by one or the other.
            let (pending, waiters) = state.withLock { state in
                state.ready = true
                defer { state.readyWaiters = [] }
                return (journal.unacknowledged, state.readyWaiters)
            }
            logger.info("gateway.core.connected", metadata: ["core": "\(ok.core)", "resending": "\(pending.count)"])
            for waiter in waiters { waiter.resume() }
            for message in pending { try? connection.send(GatewayEnvelope(message)) }
            return
        }
        if case .originate(let request) = envelope.message {
            originationContinuation.yield(request)
            return
        }
        if case .ack(let ack) = envelope.message {
            journal.acknowledged(ack.outcomeIDs)
            return
        }
        if let re = envelope.inReplyTo, let continuation = state.withLock({ $0.waiting.removeValue(forKey: re) }) {
            continuation.resume(returning: envelope.message)
            return
        }
        logger.debug("gateway.core.unhandled", metadata: ["type": "\(envelope.message.type)"])
    }

    private func disconnected() {
        let waiting = state.withLock { state in
            state.outbound = nil
            state.ready = false
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume(throwing: CoreLinkError.unavailable) }
    }

    /// Asks the core and waits for its answer; fails at once when not connected.
    public func ask(_ message: GatewayMessage, timeout: Duration) async throws -> GatewayMessage {
        try await withCheckedThrowingContinuation { continuation in
            let ticket: (Int, any GatewayOutbound)? = state.withLock { state in
                guard state.ready, let outbound = state.outbound else { return nil }
                let id = state.nextID
                state.nextID += 1
                state.waiting[id] = continuation
                return (id, outbound)
            }
            guard let (id, outbound) = ticket else {
                continuation.resume(throwing: CoreLinkError.unavailable)
                return
            }
            eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { [self] in
                state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(throwing: CoreLinkError.timeout)
            }
            do { try outbound.send(GatewayEnvelope(message, id: id)) } catch {
                state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(throwing: CoreLinkError.unavailable)
            }
        }
    }

    /// Hands an outcome (`call_progress`, `call_ended`) to the core; it is kept and resent until acknowledged.
    public func report(_ message: GatewayMessage, outcomeID: String) {
        let (line, outbound) = state.withLock { state in
            (journal.outcome(message, id: outcomeID), state.ready ? state.outbound : nil)
        }
        try? outbound?.send(GatewayEnvelope(message), line: line)
    }
}

/// Resumes one waiter once the link closed (the in-process transport's end of `connectOnce`).
private final class ClosedSignal: Sendable {
    private let state = Mutex<(closed: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { state in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let closed = state.withLock { state in
                if !state.closed { state.waiter = continuation }
                return state.closed
            }
            if closed { continuation.resume() }
        }
    }
}
