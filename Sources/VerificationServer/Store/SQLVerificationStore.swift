import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit
import Verification

/// The production `VerificationStore`: one SQLKit implementation on SQLite (default: a file in WAL
/// mode) and PostgreSQL (several core nodes sharing one database). docs/ARCHITECTURE.md, "Storage".
///
/// - Every write that must be atomic (`insert`, `update`) runs in one transaction on one pooled
///   connection. SQLite writes go through a single writer connection (`BEGIN IMMEDIATE`), so writers
///   queue in-process instead of spinning on the file lock, and the writes that queue together share
///   one COMMIT, each still atomic (`SQLiteDatabasePool`, `GroupCommit`); reads use a
///   separate bounded pool. SQLite statements run on the calling thread (GRDB, cached statements).
/// - Several verifications may be pending for one number and channel (each start is its own);
///   a call-in system number is held per caller in `system_number_holds`, taken by one upsert so
///   that of two nodes racing for a number one wins.
/// - Schema migrations run in `open` (see `SQLStoreMigration`, `SQLStoreMigrator`).
/// - Instants are stored as microseconds since 1970 (dates round-trip to the microsecond).
/// - This file opens, migrates and closes the store; the queries are one extension per aggregate
///   (`SQLVerificationStore+Verifications`, `+Holds`, `+Sends`, `+Events`, `+Webhooks`,
///   `+CallRetries`, `+SentSMS`, `+APIKeys`), each implementing one of the protocols that
///   `VerificationStore` composes.
public final class SQLVerificationStore: VerificationStore {
    /// Pool and backend options.
    public struct Configuration: Sendable {
        /// Most connections open at once (PostgreSQL), or read connections (SQLite, plus one writer);
        /// nil for the backend's default (`defaultPoolSize`).
        public var poolSize: Int?
        /// How long an SQLite statement waits for another process's lock before failing.
        public var sqliteBusyTimeoutMilliseconds: Int
        /// PostgreSQL schema holding the tables (created if missing); nil uses the server's search path.
        public var postgresSchema: String?

        /// Whether `schema` is a schema name the store takes: 1-63 ASCII letters, digits and `_`,
        /// not starting with a digit (an identifier needing no quotes, within PostgreSQL's 63 bytes).
        public static func isValidSchema(_ schema: String) -> Bool {
            !schema.isEmpty && schema.utf8.count <= 63 && schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
                && schema.first?.isNumber != true
        }

        /// Defaults: the backend's pool size, 5 s busy timeout, server search path.
        public init(poolSize: Int? = nil, sqliteBusyTimeoutMilliseconds: Int = 5_000, postgresSchema: String? = nil) {
            self.poolSize = poolSize
            self.sqliteBusyTimeoutMilliseconds = sqliteBusyTimeoutMilliseconds
            self.postgresSchema = postgresSchema
        }
    }

    /// The pool size when none is configured: 8, SQLite read connections or PostgreSQL connections. Missed calls at 500/s cost the same CPU with 2 or 8 SQLite readers
    /// (interleaved runs, 2.7–3.0 ms per call either way), so the default stayed.
    public static func defaultPoolSize(_ backend: SQLStoreBackend) -> Int {
        switch backend {
        case .sqlite, .postgres: 8
        }
    }

    /// The SQL dialect in use.
    public let backend: SQLStoreBackend
    let reader: any SQLDatabaseLender
    let writer: any SQLDatabaseLender
    /// How long each operation takes (`SQLStoreLatency.observe` to receive them).
    public let latency: SQLStoreLatency
    let configuration: Configuration
    /// The PostgreSQL connection settings (nil on SQLite), for connections outside the pool (the
    /// audit event listener).
    let postgres: SQLPostgresConfiguration?
    let logger: Logger

    private init(
        backend: SQLStoreBackend, reader: any SQLDatabaseLender, writer: any SQLDatabaseLender,
        configuration: Configuration, postgres: SQLPostgresConfiguration? = nil, logger: Logger
    ) {
        self.postgres = postgres
        self.backend = backend
        let latency = SQLStoreLatency()
        self.latency = latency
        self.reader = TimedSQLDatabaseLender(base: reader, latency: latency)
        self.writer = TimedSQLDatabaseLender(base: writer, latency: latency)
        self.configuration = configuration
        self.logger = logger
    }

    /// Opens the store at `url` (see `SQLStoreLocation`: `sqlite:///path`, a plain path, or
    /// `postgres://…`) and applies pending migrations. Call `shutdown()` when done.
    public static func open(
        url: String, configuration: Configuration = Configuration(), logger: Logger
    ) async throws -> SQLVerificationStore {
        if let size = configuration.poolSize, !(1...1_000).contains(size) {
            throw SQLStoreError.invalidConfiguration("pool size must be 1…1000, not \(size)")
        }
        if let schema = configuration.postgresSchema, !Configuration.isValidSchema(schema) {
            throw SQLStoreError.invalidConfiguration("PostgreSQL schema must be an identifier of letters, digits and _")
        }
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let store: SQLVerificationStore
        switch try SQLStoreLocation(url) {
        case .sqlite(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let database = try SQLiteDatabasePool(
                path: path, readers: configuration.poolSize ?? defaultPoolSize(.sqlite),
                busyTimeoutMilliseconds: configuration.sqliteBusyTimeoutMilliseconds, logger: logger
            )
            store = SQLVerificationStore(
                backend: .sqlite, reader: database.reader, writer: database.writer,
                configuration: configuration, logger: logger
            )
        case .postgres(let url):
            var postgres = try SQLPostgresConfiguration(url: url)
            if let schema = configuration.postgresSchema { postgres.searchPath = [schema] }
            let pool = PooledSQLDatabaseLender(
                source: PostgresConnectionSource(sqlConfiguration: postgres), maxConnections: configuration.poolSize ?? defaultPoolSize(.postgres),
                on: eventLoop, logger: logger, database: { $0.sql(queryLogLevel: nil) }
            )
            store = SQLVerificationStore(
                backend: .postgres, reader: pool, writer: pool, configuration: configuration, postgres: postgres, logger: logger
            )
        }
        do {
            try await store.migrate()
        } catch {
            try? await store.shutdown()
            throw error
        }
        logger.info("store.opened", metadata: ["backend": "\(store.backend.rawValue)", "pool": "\(configuration.poolSize ?? defaultPoolSize(store.backend))"])
        return store
    }

    /// Applies pending migrations (already done by `open`; running it again changes nothing).
    public func migrate() async throws {
        try await SQLStoreMigrator.migrate(
            lender: writer, backend: backend, postgresSchema: configuration.postgresSchema, now: SQLTime.micros(Date())
        )
    }

    /// Migration versions recorded in `schema_migrations`, ascending.
    public func appliedMigrations() async throws -> [Int] {
        try await reader.withDatabase { try await SQLStoreMigrator.appliedVersions($0) }
    }

    /// Closes every connection. The store cannot be used afterwards.
    public func shutdown() async throws {
        try await reader.close()
        if backend == .sqlite { try await writer.close() }
    }

    // MARK: statements shared by the aggregates (the queries are in the SQLVerificationStore+… files)

    /// Runs `body` on the write connection (tests and maintenance only; not part of the store API).
    func withRawDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await writer.withDatabase(body)
    }

    /// Takes the rows of `table` whose `due_at` is at or before `now` (at most `limit`) and deletes
    /// them in one DELETE … RETURNING: on PostgreSQL a second node's DELETE waits for the first's
    /// row locks and then finds the rows gone, so each row is claimed once. The rows come earliest
    /// first (then by `key`) with `key`, `due_at` and the `returning` columns.
    func claimDue(from table: String, key: String, returning: [String] = [], now: Date, limit: Int) async throws -> [any SQLRow] {
        let columns = ([key, "due_at"] + returning).joined(separator: ", ")
        return try await writer.withDatabase { db in
            try await db.raw("""
                DELETE FROM \(unsafeRaw: table) WHERE \(unsafeRaw: key) IN (
                    SELECT \(unsafeRaw: key) FROM \(unsafeRaw: table) WHERE due_at <= \(bind: SQLTime.micros(now))
                    ORDER BY due_at, \(unsafeRaw: key) LIMIT \(bind: Int64(max(0, limit))))
                RETURNING \(unsafeRaw: columns)
                """).all()
                .map { row in (try row.decode(column: "due_at", as: Int64.self), try row.decode(column: key, as: String.self), row) }
                .sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map(\.2)
        }
    }
}
