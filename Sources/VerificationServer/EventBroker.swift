import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Verification

/// Fans verification events out to the SSE streams of the web page, in process. A `Service`:
/// at graceful shutdown it ends every stream, so open pages do not hold the server up.
public final class EventBroker: VerificationEventSink, Service, Sendable {
    private struct State {
        var subscribers: [String: [UInt64: AsyncStream<VerificationEvent>.Continuation]] = [:]
        var nextToken: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// A stream of the events of one verification, from now on. Ends at shutdown.
    public func subscribe(_ verificationID: String) -> AsyncStream<VerificationEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: VerificationEvent.self, bufferingPolicy: .bufferingNewest(64))
        let token: UInt64? = state.withLock { s in
            guard !s.closed else { return nil }
            s.nextToken += 1
            s.subscribers[verificationID, default: [:]][s.nextToken] = continuation
            return s.nextToken
        }
        guard let token else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { s in
                s.subscribers[verificationID]?[token] = nil
                if s.subscribers[verificationID]?.isEmpty == true { s.subscribers[verificationID] = nil }
            }
        }
        return stream
    }

    /// Number of open streams (for tests and metrics).
    public var subscriberCount: Int { state.withLock { $0.subscribers.values.reduce(0) { $0 + $1.count } } }

    public func published(_ event: VerificationEvent, verification: Verification) async {
        let targets = state.withLock { Array(($0.subscribers[event.verificationID] ?? [:]).values) }
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
            defer { s.subscribers = [:] }
            return s.subscribers.values.flatMap(\.values)
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
}

/// Logs each event; never a code (events carry none).
struct LoggingSink: VerificationEventSink {
    let logger: Logger
    func published(_ event: VerificationEvent, verification: Verification) async {
        logger.info("verification \(event.kind.rawValue)", metadata: [
            "id": .string(event.verificationID), "channel": .string(verification.channel.rawValue),
            "status": .string(event.status.rawValue),
        ])
    }
}
