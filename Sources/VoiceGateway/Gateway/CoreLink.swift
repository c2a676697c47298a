// CoreLink: the gateway's end of the core socket (docs/ARCHITECTURE.md "Gateway ↔ core socket"). Connects to
// the Unix socket, says hello, matches answers to questions by id, keeps every outcome until the
// core acknowledges it (resent after a reconnect, so a core restart loses nothing), and reconnects
// with backoff. While the core is away, questions fail at once so calls are refused quickly. The
// outcomes wait in an OutcomeJournal; with a file there, a gateway restart loses none either.

import GatewayProtocol
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Why a question to the core got no answer.
public enum CoreLinkError: Error, Sendable, Equatable {
    /// Not connected to the core now.
    case unavailable
    /// No answer within the time given.
    case timeout
}

/// A connection to the verification core that survives core restarts.
public final class CoreLink: Sendable {
    /// The socket path.
    public let path: String
    let hello: Hello
    let logger: Logger
    /// Where outcomes wait for the core's acknowledgement (in memory, or also in a file).
    public let journal: OutcomeJournal
    private let eventLoop: EventLoop

    private struct State {
        /// The connection; writes go straight to it (thread-safe, ordered on its event loop).
        var channel: Channel?
        var ready = false
        var nextID = 1
        var waiting: [Int: CheckedContinuation<GatewayMessage, Error>] = [:]
        var readyWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    /// Calls the core asks this gateway to place (`originate`), in arrival order.
    public let originations: AsyncStream<Originate>
    private let originationContinuation: AsyncStream<Originate>.Continuation

    /// Makes a link; `run()` connects. Outcomes an earlier run left in `journal` are sent first.
    public init(path: String, gateway: String, channels: [String], systemNumbers: [String] = [], journal: OutcomeJournal = OutcomeJournal(), logger: Logger) {
        self.path = path
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
                logger.debug("gateway.core.connect_failed", metadata: ["path": "\(path)", "error": "\(error)"])
            }
            disconnected()
            guard !Task.isCancelled else { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    private func connectOnce() async throws {
        let channel = try await ClientBootstrap(group: eventLoop)
            .connect(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, _ in
                let connection = channel.channel
                let helloID = state.withLock { state in
                    state.channel = connection
                    defer { state.nextID += 1 }
                    return state.nextID
                }
                try await connection.writeAndFlush(Self.line(GatewayEnvelope(.hello(hello), id: helloID)))
                var decoder = GatewayDecoder()
                for try await buffer in inbound {
                    decoder.append(buffer.readableBytesView)
                    while true {
                        do {
                            guard let envelope = try decoder.next() else { break }
                            received(envelope, helloID: helloID, connection: connection)
                        } catch let error as GatewayProtocolError {
                            logger.warning("gateway.core.bad_line", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    private static func line(_ envelope: GatewayEnvelope) -> ByteBuffer {
        ByteBuffer(bytes: GatewayEncoder().encode(envelope))
    }

    private func received(_ envelope: GatewayEnvelope, helloID: Int, connection: Channel) {
        if case .helloOK(let ok) = envelope.message, envelope.inReplyTo == helloID {
            // Under the state lock, as in `report`: each outcome goes out once, by one or the other.
            let (pending, waiters) = state.withLock { state in
                state.ready = true
                defer { state.readyWaiters = [] }
                return (journal.unacknowledged, state.readyWaiters)
            }
            logger.info("gateway.core.connected", metadata: ["core": "\(ok.core)", "resending": "\(pending.count)"])
            for waiter in waiters { waiter.resume() }
            for message in pending { connection.write(Self.line(GatewayEnvelope(message)), promise: nil) }
            connection.flush()
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
            state.channel = nil
            state.ready = false
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume(throwing: CoreLinkError.unavailable) }
    }

    /// Asks the core and waits for its answer; fails at once when not connected.
    public func ask(_ message: GatewayMessage, timeout: Duration) async throws -> GatewayMessage {
        try await withCheckedThrowingContinuation { continuation in
            let ticket: (Int, Channel)? = state.withLock { state in
                guard state.ready, let channel = state.channel else { return nil }
                let id = state.nextID
                state.nextID += 1
                state.waiting[id] = continuation
                return (id, channel)
            }
            guard let (id, channel) = ticket else {
                continuation.resume(throwing: CoreLinkError.unavailable)
                return
            }
            eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { [self] in
                state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(throwing: CoreLinkError.timeout)
            }
            channel.writeAndFlush(Self.line(GatewayEnvelope(message, id: id)), promise: nil)
        }
    }

    /// Hands an outcome (`call_progress`, `call_ended`) to the core; it is kept and resent until acknowledged.
    public func report(_ message: GatewayMessage, outcomeID: String) {
        let (line, channel) = state.withLock { state in
            (journal.outcome(message, id: outcomeID), state.ready ? state.channel : nil)
        }
        channel?.writeAndFlush(ByteBuffer(bytes: line), promise: nil)
    }
}
