// The SQLite side of the store: GRDB's `DatabasePool` (WAL, one write connection, a pool of read
// connections, cached prepared statements) driven without thread hops, and a group-commit writer.
// docs/ARCHITECTURE.md, "Storage".
//
// Why this file exists next to GRDB: GRDB lends a connection only to a synchronous closure, while
// the store's statements are written once for SQLite and PostgreSQL against SQLKit's async API
// (`SQLDatabase`). So each statement runs synchronously on the calling thread through GRDB (no
// hop to a thread pool and back, as SQLiteNIO makes for every statement), and a write transaction
// spans several such calls, made by the task running the batch (`GroupCommit`), which lets the
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
    /// One write operation waiting for, or taken into, a batch.
    final class PendingWrite: @unchecked Sendable {
        // @unchecked Sendable: `continuation` is set once under the pool's lock before anyone can
        // take the operation; `run` is immutable.
        /// Runs the operation's statements on `db`; false when they threw (its result keeps the error).
        let run: @Sendable (any SQLDatabase) async -> Bool
        var continuation: CheckedContinuation<Signal, Never>?

        init(run: @escaping @Sendable (any SQLDatabase) async -> Bool) {
            self.run = run
        }
    }

    /// What a queued write operation is resumed with.
    enum Signal: Sendable {
        /// Run the next batch (yours is in it).
        case run
        /// Your batch ended; `failure` is why it did not commit, if it did not.
        case ended(failure: (any Error)?)
    }

    /// What an operation's statements returned or threw, read by its caller once its batch ended.
    private final class Outcome<R>: @unchecked Sendable {
        // @unchecked Sendable: written by the runner before it resumes the caller, read after.
        var result: Result<R, any Error>?
    }

    private let state: Mutex<GroupCommit<PendingWrite>>
    let pool: DatabasePool
    /// Runs the log's checkpoints, which the writer's commits would otherwise run.
    let checkpointer: WALCheckpointer
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let closed = Atomic<Bool>(false)
    private let operationCount = Atomic<Int>(0)
    private let batchCount = Atomic<Int>(0)

    /// Most operations that share one transaction.
    static let maxBatch = 32

    /// The writer's own page cache, in KiB (`PRAGMA cache_size` as a negative number,
    /// https://www.sqlite.org/pragma.html#pragma_cache_size): 64 MiB against SQLite's 2 MiB. A check
    /// reads its verification on the writer, inside the write transaction; once its pages have left
    /// the writer's cache they are read from the file again, from the operating system's page cache
    /// or, when that has let them go, from the disk while every queued write waits. The writer's
    /// cache stays valid across commits (it is the only writer); the readers' caches are emptied by
    /// every commit they see (https://www.sqlite.org/wal.html), so a larger one would not help them.
    static let writerCacheKiB = 65_536

    /// Opens (creating if needed) the database at `path`: WAL journal with `synchronous = NORMAL`
    /// (a process crash loses no commit; a power loss may lose the last ones), foreign keys on,
    /// `readers` read connections, and SQLite's busy timeout for locks held by other processes.
    /// The log is checkpointed from `checkpointThreshold` pages on by a `WALCheckpointer`, not by
    /// the writer's commits.
    init(path: String, readers: Int, busyTimeoutMilliseconds: Int, checkpointThreshold: Int = 1_000, logger: Logger) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(Double(busyTimeoutMilliseconds) / 1_000)
        configuration.maximumReaderCount = readers
        // A batch's transaction spans several `writeWithoutTransaction` calls (one per statement);
        // GRDB would otherwise insist each call closes it.
        configuration.allowsUnsafeTransactions = true
        configuration.label = "verigate.store"
        // DatabasePool sets `journal_mode = WAL` and `synchronous = NORMAL` on the writer.
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.checkpointer = try WALCheckpointer(
            path: path, threshold: checkpointThreshold, busyTimeoutMilliseconds: busyTimeoutMilliseconds, logger: logger
        )
        try pool.writeWithoutTransaction { [checkpointer] db in
            try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)")
            checkpointer.install(on: db)
        }
        self.state = Mutex(GroupCommit(maxBatch: Self.maxBatch))
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

    /// Write operations queued and not yet taken into a batch.
    var queued: Int { state.withLock { $0.queued } }

    /// Closes every connection (once; later calls do nothing).
    func close() throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pool.writeWithoutTransaction { [checkpointer] db in checkpointer.uninstall(from: db) }
        try checkpointer.close()
        // The last connection to close checkpoints the whole log and removes it.
        try pool.close()
    }

    /// The SQLDatabase running each statement on a read connection.
    private var readDatabase: GRDBSQLDatabase {
        GRDBSQLDatabase(eventLoop: eventLoop, logger: logger) { [pool] statement in
            try pool.unsafeRead { try statement($0) }
        }
    }

    /// The SQLDatabase running each statement on the write connection (only inside a batch).
    private var writeDatabase: GRDBSQLDatabase {
        GRDBSQLDatabase(eventLoop: eventLoop, logger: logger) { [pool] statement in
            try pool.writeWithoutTransaction { try statement($0) }
        }
    }

    /// Runs `body` as one write operation: atomic (undone alone when it throws, see `runBatch`),
    /// answered only after the batch's COMMIT succeeded. `body` may run on another operation's
    /// task, and more than once (its batch runs again when an operation of it fails): it must act on
    /// the database only, and must not write through the store again (it would wait for itself).
    func write<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        guard !closed.load(ordering: .acquiring) else { throw SQLStoreError.shutDown }
        let outcome = Outcome<R>()
        let operation = PendingWrite { db in
            do {
                outcome.result = .success(try await body(db))
                return true
            } catch {
                outcome.result = .failure(error)
                return false
            }
        }
        let signal: Signal = await withCheckedContinuation { continuation in
            operation.continuation = continuation
            if state.withLock({ $0.enqueue(operation) }) { continuation.resume(returning: .run) }
        }
        let failure: (any Error)?
        switch signal {
        case .run: failure = await runBatch(for: operation)
        case .ended(let batchFailure): failure = batchFailure
        }
        if let failure { throw failure }
        guard let result = outcome.result else { preconditionFailure("a committed write operation has no result") }
        return try result.get()
    }

    /// Runs one batch (the caller's operation is in it): BEGIN IMMEDIATE, the operations, COMMIT;
    /// tells the batch's other operations, and hands the next batch to the first queued operation.
    /// Returns the batch's failure.
    ///
    /// The operations run one after the other in the one transaction, without savepoints: two
    /// statements more per operation, for a failure that hardly happens on a single writer (no
    /// version is lost, no key collides). When one fails, it may have written before it failed:
    /// the batch is rolled back and run again with a savepoint per operation, which undoes the
    /// failed one's statements alone (a batch of one needs no second run). Anything else that fails
    /// (BEGIN, COMMIT) rolls the batch back and fails it.
    private func runBatch(for runner: PendingWrite) async -> (any Error)? {
        let batch = state.withLock { $0.takeBatch() }
        let db = writeDatabase
        var failure: (any Error)?
        do {
            try execute("BEGIN IMMEDIATE")
            if await runAll(batch, on: db) {
                try execute("COMMIT")
            } else {
                try execute("ROLLBACK")
                // A batch of one was its operation's own transaction: nothing else to write.
                if batch.count > 1 { try await runEachInSavepoint(batch, on: db) }
            }
        } catch {
            failure = error
            if isInsideTransaction() {
                do {
                    try execute("ROLLBACK")
                } catch {
                    logger.warning("store.rollback_failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }
        operationCount.add(batch.count, ordering: .relaxed)
        batchCount.add(1, ordering: .relaxed)
        let next = state.withLock { $0.batchEnded() }
        for operation in batch where operation !== runner {
            operation.continuation?.resume(returning: .ended(failure: failure))
        }
        next?.continuation?.resume(returning: .run)
        return failure
    }

    /// Runs `batch`'s operations in order on `db` until one fails; false when one did.
    private func runAll(_ batch: [PendingWrite], on db: GRDBSQLDatabase) async -> Bool {
        for operation in batch where await !operation.run(db) { return false }
        return true
    }

    /// Runs `batch` again in a transaction of its own, each operation in a savepoint: a failed
    /// one's statements are undone alone, and the others commit.
    private func runEachInSavepoint(_ batch: [PendingWrite], on db: GRDBSQLDatabase) async throws {
        try execute("BEGIN IMMEDIATE")
        for operation in batch {
            try execute("SAVEPOINT verigate_write")
            if await !operation.run(db) {
                try execute("ROLLBACK TO verigate_write")
            }
            try execute("RELEASE verigate_write")
        }
        try execute("COMMIT")
    }

    /// Whether the write connection has a transaction open.
    private func isInsideTransaction() -> Bool {
        pool.writeWithoutTransaction { $0.isInsideTransaction }
    }

    /// Runs one statement without results on the write connection (transaction control), prepared
    /// once per connection.
    private func execute(_ sql: String) throws {
        try pool.writeWithoutTransaction { try $0.cachedStatement(sql: sql).execute() }
    }

    /// Lends read connections (`SQLDatabaseLender`); reads take no transaction.
    private struct ReadLender: SQLDatabaseLender {
        let database: SQLiteDatabasePool

        func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
            guard !database.closed.load(ordering: .acquiring) else { throw SQLStoreError.shutDown }
            return try await body(database.readDatabase)
        }

        func withTransaction<R: Sendable>(begin: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
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

        func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
            try await database.write(body)
        }

        func withTransaction<R: Sendable>(begin: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
            try await database.write(body)
        }

        func close() async throws {
            try database.close()
        }
    }
}
