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

    private let observer = Mutex<(@Sendable (Operation, Duration) -> Void)?>(nil)

    init() {}

    /// Calls `observe` with each operation's kind and duration from now on (replacing an earlier observer).
    public func observe(_ observe: @escaping @Sendable (Operation, Duration) -> Void) {
        observer.withLock { $0 = observe }
    }

    func record(_ operation: Operation, since start: ContinuousClock.Instant) {
        guard let observe = observer.withLock({ $0 }) else { return }
        observe(operation, ContinuousClock.now - start)
    }
}

/// A lender that times every lending into `latency`.
struct TimedSQLDatabaseLender: SQLDatabaseLender {
    let base: any SQLDatabaseLender
    let latency: SQLStoreLatency

    func withDatabase<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        let start = ContinuousClock.now
        defer { latency.record(.statement, since: start) }
        return try await base.withDatabase(body)
    }

    func withTransaction<R>(begin: String, _ body: (any SQLDatabase) async throws -> R) async throws -> R {
        let start = ContinuousClock.now
        defer { latency.record(.transaction, since: start) }
        return try await base.withTransaction(begin: begin, body)
    }

    func close() async throws {
        try await base.close()
    }
}
