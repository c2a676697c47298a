import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Verification

/// Fans verification events out to the SSE streams of the web page: the events of this process as
/// they are published, and (through `StoreEventFollower`) those other nodes sharing the store
/// wrote, each event once per stream. A `Service`: at graceful shutdown it ends every stream, so
/// open pages do not hold the server up.
public final class EventBroker: VerificationEventSink, Service, Sendable {
    private struct Subscriber {
        let continuation: AsyncStream<VerificationEvent>.Continuation
        let since: Date
    }

    /// What identifies an event across nodes: the store keeps instants to the microsecond.
    struct EventKey: Hashable {
        let kind: VerificationEvent.Kind
        let micros: Int64
        let detail: String?

        init(_ event: VerificationEvent) {
            kind = event.kind
            micros = SQLTime.micros(event.at)
            detail = event.detail
        }
    }

    private struct State {
        var subscribers: [String: [UInt64: Subscriber]] = [:]
        /// Events already given to the streams of each followed verification.
        var delivered: [String: Set<EventKey>] = [:]
        var nextToken: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())

    /// A broker with no subscribers.
    public init() {}

    /// A stream of the events of one verification, from `now` on. Ends at shutdown.
    public func subscribe(_ verificationID: String, now: Date = Date()) -> AsyncStream<VerificationEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: VerificationEvent.self, bufferingPolicy: .bufferingNewest(64))
        let token: UInt64? = state.withLock { s in
            guard !s.closed else { return nil }
            s.nextToken += 1
            s.subscribers[verificationID, default: [:]][s.nextToken] = Subscriber(continuation: continuation, since: now)
            return s.nextToken
        }
        guard let token else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { s in
                s.subscribers[verificationID]?[token] = nil
                if s.subscribers[verificationID]?.isEmpty == true {
                    s.subscribers[verificationID] = nil
                    s.delivered[verificationID] = nil
                }
            }
        }
        return stream
    }

    /// Number of open streams (for tests and metrics).
    public var subscriberCount: Int { state.withLock { $0.subscribers.values.reduce(0) { $0 + $1.count } } }

    /// The verifications with open streams, each with its oldest stream's start.
    public func followed() -> [String: Date] {
        state.withLock { s in s.subscribers.compactMapValues { $0.values.map(\.since).min() } }
    }

    /// Hands a stored event to the open streams of its verification (each stream gets it once).
    public func published(_ event: VerificationEvent, verification: Verification) async {
        deliver(event, fromStore: false)
    }

    /// An event read from the store: given to the streams that began before it, unless they have it.
    func deliverFromStore(_ event: VerificationEvent) {
        deliver(event, fromStore: true)
    }

    private func deliver(_ event: VerificationEvent, fromStore: Bool) {
        let targets = state.withLock { s -> [AsyncStream<VerificationEvent>.Continuation] in
            guard let subscribers = s.subscribers[event.verificationID] else { return [] }
            guard s.delivered[event.verificationID, default: []].insert(EventKey(event)).inserted else { return [] }
            // From the store, only what may have come after a stream read the current status
            // (an event is dated before its commit, and nodes' clocks differ a little).
            return subscribers.values.filter { !fromStore || event.at >= $0.since.addingTimeInterval(-StoreEventFollower.margin) }
                .map(\.continuation)
        }
        for c in targets { c.yield(event) }
    }

    /// Waits for graceful shutdown, then ends every stream.
    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// Ends every stream and refuses new ones.
    public func close() {
        let all = state.withLock { s -> [AsyncStream<VerificationEvent>.Continuation] in
            s.closed = true
            defer {
                s.subscribers = [:]
                s.delivered = [:]
            }
            return s.subscribers.values.flatMap { $0.values.map(\.continuation) }
        }
        for c in all { c.finish() }
    }
}

/// Several sinks as one.
struct FanOutSink: VerificationEventSink {
    let sinks: [any VerificationEventSink]
    func published(_ event: VerificationEvent, verification: Verification) async {
        for s in sinks { await s.published(event, verification: verification) }
    }
    func sendRefused(_ refusal: SendRefusal) async {
        for s in sinks { await s.sendRefused(refusal) }
    }
}

/// Logs each event; never a code (events carry none).
struct LoggingSink: VerificationEventSink {
    let logger: Logger
    func published(_ event: VerificationEvent, verification: Verification) async {
        logger.info("verification.event", metadata: [
            "event": .string(event.kind.rawValue), "verification": .string(event.verificationID), "channel": .string(verification.channel.rawValue),
            "status": .string(event.status.rawValue),
        ])
    }

    /// One warning per refused send, naming the guard; the number only by its prefix (the range a
    /// pumping run walks is what an operator blocks; whole numbers stay out of the logs).
    func sendRefused(_ refusal: SendRefusal) async {
        logger.warning("verification.send_refused", metadata: [
            "guard": .string(refusal.limit.rawValue), "channel": .string(refusal.channel.rawValue),
            "prefix": .string(refusal.prefix), "verification": .string(refusal.verificationID),
            "retry_after": .stringConvertible(Int(refusal.retryAfter.rounded(.up))),
        ])
    }
}
