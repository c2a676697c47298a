// The SQLite side of the store: GRDB's `DatabasePool` (WAL, one write connection, a pool of read
// connections, cached prepared statements) driven without thread hops, and a group-commit writer.
// docs/ARCHITECTURE.md, "Storage".
//
// Why this file exists next to GRDB: GRDB lends a connection only to a synchronous closure, while
// the store's statements are written once for SQLite and PostgreSQL against SQLKit's async API
// (`SQLDatabase`). So each statement runs synchronously on the calling thread through GRDB (no
// hop to a thread pool and back, as SQLiteNIO makes for every statement), and a write transaction
// spans several such calls; `GroupCommit` decides who holds the write connection meanwhile and lets
// operations that arrive together share one COMMIT. Neither GRDB nor SQLKit offers group commit.
import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import SQLKit
import Synchronization

/// One SQLite database file: a `DatabasePool` and the group commit of its write connection.
final class SQLiteDatabasePool: Sendable {
    /// What a waiting write operation is resumed with.
    enum Signal: Sendable {
        /// Open a new batch (`BEGIN IMMEDIATE`), then run.
        case lead
        /// The batch is open: run inside a savepoint.
        case join
        /// The batch ended; this is its outcome (the COMMIT's error, if it failed).
        case ended(failure: (any Error)?)
        /// Nobody runs after you: end the batch yourself.
        case commit
    }

    private struct State {
        var commit: GroupCommit<CheckedContinuation<Signal, Never>>
        /// Set when a savepoint could not be released or rolled back: the open batch must roll back.
        var batchFailure: (any Error)?
    }

    let pool: DatabasePool
    private let state: Mutex<State>
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let closed = Atomic<Bool>(false)
    private let operationCount = Atomic<Int>(0)
    private let batchCount = Atomic<Int>(0)

    /// Most operations that share one transaction.
    static let maxBatch = 32

    /// Opens (creating if needed) the database at `path`: WAL journal with `synchronous = NORMAL`
    /// (a process crash loses no commit; a power loss may lose the last ones), foreign keys on,
    /// `readers` read connections, and SQLite's busy timeout for locks held by other processes.
    init(path: String, readers: Int, busyTimeoutMilliseconds: Int, logger: Logger) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(Double(busyTimeoutMilliseconds) / 1_000)
        configuration.maximumReaderCount = readers
        // The write transaction spans several `writeWithoutTransaction` calls (one per statement),
        // held by `GroupCommit` in between; GRDB would otherwise insist each call closes it.
        configuration.allowsUnsafeTransactions = true
        configuration.label = "verigate.store"
        // DatabasePool sets `journal_mode = WAL` and `synchronous = NORMAL` on the writer.
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.state = Mutex(State(commit: GroupCommit(maxBatch: Self.maxBatch)))
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        self.logger = logger
    }

    /// The lender of read connections (each statement on a free reader, outside any transaction).
    var reader: any SQLDatabaseLender { ReadLender(database: self) }
    /// The lender of the write connection (every lending is one group-committed operation).
    var writer: any SQLDatabaseLender { WriteLender(database: self) }

    /// Write operations run, and batches ended (committed or rolled back), since opening.
    var statistics: (operations: Int, batches: Int) {
        (operationCount.load(ordering: .relaxed), batchCount.load(ordering: .relaxed))
    }

    /// Write operations waiting for the write connection.
    var queued: Int { state.withLock { $0.commit.queued } }

    /// Closes every connection (once; later calls do nothing).
    func close() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try pool.close()
    }

    /// The SQLDatabase running each statement on a read connection.
    private var readDatabase: GRDBSQLDatabase {
        GRDBSQLDatabase(eventLoop: eventLoop, logger: logger) { [pool] statement in
            try pool.unsafeRead { try statement($0) }
        }
    }

    /// The SQLDatabase running each statement on the write connection (only inside `write`).
    private var writeDatabase: GRDBSQLDatabase {
        GRDBSQLDatabase(eventLoop: eventLoop, logger: logger) { [pool] statement in
            try pool.writeWithoutTransaction { try statement($0) }
        }
    }

    /// Runs `body` as one write operation: atomic (its own savepoint inside the batch's transaction),
    /// answered only after the batch's COMMIT succeeded. `body` must not write through the store
    /// again (it would wait for itself).
    func write<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        guard !closed.load(ordering: .acquiring) else { throw SQLStoreError.shutDown }
        var role = GroupCommit<CheckedContinuation<Signal, Never>>.Role.lead
        let entered: Signal = await withCheckedContinuation { continuation in
            switch state.withLock({ $0.commit.enter(continuation) }) {
            case .lead: continuation.resume(returning: .lead)
            case .wait: break
            }
        }
        switch entered {
        case .lead: role = .lead
        case .join: role = .join
        case .ended, .commit: preconditionFailure("a waiting write operation resumed with \(entered)")
        }
        let db = writeDatabase
        operationCount.add(1, ordering: .relaxed)
        if role == .lead {
            do {
                try execute("BEGIN IMMEDIATE")
            } catch {
                // No transaction opened: nothing to end; the next operation tries again.
                endBatch(failure: error)
                throw error
            }
        }
        // The operation itself, rolled back alone when it throws.
        var result: Result<R, any Error>
        if let failure = state.withLock({ $0.batchFailure }) {
            result = .failure(failure)
        } else {
            do {
                try execute("SAVEPOINT verigate_write")
                do {
                    result = .success(try await body(db))
                    try execute("RELEASE verigate_write")
                } catch let bodyError {
                    result = .failure(bodyError)
                    try execute("ROLLBACK TO verigate_write")
                    try execute("RELEASE verigate_write")
                }
            } catch {
                // The savepoint itself failed: the batch cannot be trusted any more.
                logger.warning("store.savepoint_failed", metadata: ["error": "\(String(reflecting: error))"])
                state.withLock { $0.batchFailure = $0.batchFailure ?? error }
                result = .failure(error)
            }
        }
        // Hand the open transaction on, or end it.
        let after: Signal = await withCheckedContinuation { continuation in
            switch state.withLock({ $0.commit.finished(continuation) }) {
            case .handOff(let next): next.resume(returning: .join)
            case .commit: continuation.resume(returning: .commit)
            }
        }
        let outcome: (any Error)?
        switch after {
        case .ended(let failure):
            outcome = failure
        case .commit:
            outcome = commitBatch()
        case .lead, .join:
            preconditionFailure("a finished write operation resumed with \(after)")
        }
        if let outcome { throw outcome }
        return try result.get()
    }

    /// Ends the open batch: COMMIT, or ROLLBACK when a savepoint failed; then tells every operation
    /// waiting on it, and lets the next queued operation lead. Returns the batch's failure.
    private func commitBatch() -> (any Error)? {
        var failure = state.withLock { $0.batchFailure }
        if failure == nil {
            do {
                try execute("COMMIT")
            } catch {
                failure = error
            }
        }
        if failure != nil {
            do {
                try execute("ROLLBACK")
            } catch {
                logger.warning("store.rollback_failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        endBatch(failure: failure)
        return failure
    }

    /// Marks the batch ended and resumes its waiting members and the next leader.
    private func endBatch(failure: (any Error)?) {
        batchCount.add(1, ordering: .relaxed)
        let committed = state.withLock { state in
            state.batchFailure = nil
            return state.commit.committed()
        }
        for member in committed.members { member.resume(returning: .ended(failure: failure)) }
        committed.nextLeader?.resume(returning: .lead)
    }

    /// Runs one statement without results on the write connection (transaction control).
    private func execute(_ sql: String) throws {
        try pool.writeWithoutTransaction { try $0.execute(sql: sql) }
    }

    /// Lends read connections (`SQLDatabaseLender`); reads take no transaction.
    private struct ReadLender: SQLDatabaseLender {
        let database: SQLiteDatabasePool

        func withDatabase<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
            guard !database.closed.load(ordering: .acquiring) else { throw SQLStoreError.shutDown }
            return try await body(database.readDatabase)
        }

        func withTransaction<R>(begin: String, _ body: (any SQLDatabase) async throws -> R) async throws -> R {
            // Every transaction of the store writes; they belong to the writer.
            try await database.write(body)
        }

        func close() async throws {
            try database.close()
        }
    }

    /// Lends the write connection (`SQLDatabaseLender`): autocommit statements and transactions
    /// alike are group-committed operations (`write`). SQLite's only write transaction is
    /// `BEGIN IMMEDIATE`, whatever `begin` says.
    private struct WriteLender: SQLDatabaseLender {
        let database: SQLiteDatabasePool

        func withDatabase<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
            try await database.write(body)
        }

        func withTransaction<R>(begin: String, _ body: (any SQLDatabase) async throws -> R) async throws -> R {
            try await database.write(body)
        }

        func close() async throws {
            try database.close()
        }
    }
}
