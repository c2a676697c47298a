import SQLKit
import Synchronization

/// How long the SQL store's operations take, connection wait included, for an observer (the
/// core's `/metrics`: `verigate_store_duration_seconds`, README "Dashboards"). `statement` is one
/// autocommit use of a connection (a read, or a single write), `transaction` a BEGIN … COMMIT.
public final class SQLStoreLatency: Sendable {
    /// What one timed operation was.
    public enum Operation: String, Sendable {
        case statement, transaction
    }

    // An object, not a closure: a closure kept in a Mutex came back out through a new
    // reabstraction thunk around the last one at every read, so each statement walked a chain as
    // long as the statements before it (half the core's CPU after a minute of load).
    private let observer = Mutex<(any SQLStoreLatencyObserver)?>(nil)

    init() {}

    /// Tells `observer` each operation's kind and duration from now on (replacing an earlier observer).
    public func observe(_ observer: any SQLStoreLatencyObserver) {
        self.observer.withLock { $0 = observer }
    }

    func record(_ operation: Operation, since start: ContinuousClock.Instant) {
        guard let observer = observer.withLock({ $0 }) else { return }
        observer.observeStore(operation, duration: ContinuousClock.now - start)
    }
}

/// What `SQLStoreLatency` reports to (`ServerMetrics`).
public protocol SQLStoreLatencyObserver: AnyObject, Sendable {
    /// One store operation took `duration`, connection wait included.
    func observeStore(_ operation: SQLStoreLatency.Operation, duration: Duration)
}

/// A lender that times every lending into `latency`.
struct TimedSQLDatabaseLender: SQLDatabaseLender {
    let base: any SQLDatabaseLender
    let latency: SQLStoreLatency

    func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let start = ContinuousClock.now
        defer { latency.record(.statement, since: start) }
        return try await base.withDatabase(body)
    }

    func withTransaction<R: Sendable>(begin: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let start = ContinuousClock.now
        defer { latency.record(.transaction, since: start) }
        return try await base.withTransaction(begin: begin, body)
    }

    func close() async throws {
        try await base.close()
    }
}
