import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit
import Verification
import enum Verification.Channel

/// The production `VerificationStore`: one SQLKit implementation on SQLite (default: a file in WAL
/// mode) and PostgreSQL (several core nodes sharing one database). docs/ARCHITECTURE.md, "Storage".
///
/// - Every write that must be atomic (`insert`, `update`) runs in one transaction on one pooled
///   connection. SQLite writes go through a single writer connection (`BEGIN IMMEDIATE`), so writers
///   queue in-process instead of spinning on the file lock; reads use a separate bounded pool.
/// - Several verifications may be pending for one number and channel (each start is its own);
///   a call-in system number is held per caller in `system_number_holds`, taken by one upsert so
///   that of two nodes racing for a number one wins.
/// - Schema migrations run in `open` (see `SQLStoreMigration`, `SQLStoreMigrator`).
/// - Instants are stored as microseconds since 1970 (dates round-trip to the microsecond).
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

        /// Defaults: the backend's pool size, 5 s busy timeout, server search path.
        public init(poolSize: Int? = nil, sqliteBusyTimeoutMilliseconds: Int = 5_000, postgresSchema: String? = nil) {
            self.poolSize = poolSize
            self.sqliteBusyTimeoutMilliseconds = sqliteBusyTimeoutMilliseconds
            self.postgresSchema = postgresSchema
        }
    }

    /// The pool size when none is configured: 8, SQLite readers (each on a thread of its own) or
    /// PostgreSQL connections. Missed calls at 500/s cost the same CPU with 2 or 8 SQLite readers
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
    private let threadPool: NIOThreadPool?
    private let configuration: Configuration
    private let logger: Logger

    private init(
        backend: SQLStoreBackend, reader: any SQLDatabaseLender, writer: any SQLDatabaseLender,
        threadPool: NIOThreadPool?, configuration: Configuration, logger: Logger
    ) {
        self.backend = backend
        self.reader = reader
        self.writer = writer
        self.threadPool = threadPool
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
        if let schema = configuration.postgresSchema,
           schema.isEmpty || schema.count > 63 || !schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            || schema.first?.isNumber == true {
            throw SQLStoreError.invalidConfiguration("PostgreSQL schema must be an identifier of letters, digits and _")
        }
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let store: SQLVerificationStore
        switch try SQLStoreLocation(url) {
        case .sqlite(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // One thread per connection: a connection waiting on another process's lock never
            // starves the connection that holds it.
            let readers = configuration.poolSize ?? defaultPoolSize(.sqlite)
            let threadPool = NIOThreadPool(numberOfThreads: readers + 1)
            threadPool.start()
            let source = VerigateSQLiteSource(
                path: path, busyTimeoutMilliseconds: configuration.sqliteBusyTimeoutMilliseconds, threadPool: threadPool
            )
            let sql: @Sendable (SQLiteConnection) -> any SQLDatabase = { $0.sql(queryLogLevel: nil) }
            store = SQLVerificationStore(
                backend: .sqlite,
                reader: PooledSQLDatabaseLender(
                    source: source, maxConnections: readers, on: eventLoop, logger: logger, database: sql
                ),
                writer: PooledSQLDatabaseLender(source: source, maxConnections: 1, on: eventLoop, logger: logger, database: sql),
                threadPool: threadPool, configuration: configuration, logger: logger
            )
        case .postgres(let url):
            var postgres = try SQLPostgresConfiguration(url: url)
            if let schema = configuration.postgresSchema { postgres.searchPath = [schema] }
            let pool = PooledSQLDatabaseLender(
                source: PostgresConnectionSource(sqlConfiguration: postgres), maxConnections: configuration.poolSize ?? defaultPoolSize(.postgres),
                on: eventLoop, logger: logger, database: { $0.sql(queryLogLevel: nil) }
            )
            store = SQLVerificationStore(
                backend: .postgres, reader: pool, writer: pool, threadPool: nil, configuration: configuration, logger: logger
            )
        }
        do {
            try await store.migrate()
        } catch {
            try? await store.shutdown()
            throw error
        }
        logger.info("store opened", metadata: ["backend": "\(store.backend.rawValue)", "pool": "\(configuration.poolSize ?? defaultPoolSize(store.backend))"])
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

    /// Closes every connection (and SQLite's thread pool). The store cannot be used afterwards.
    public func shutdown() async throws {
        try await reader.close()
        if backend == .sqlite { try await writer.close() }
        try await threadPool?.shutdownGracefully()
    }

    // MARK: VerificationStore

    public func insert(_ verification: Verification, event: VerificationEvent) async throws -> Bool {
        try await writer.withTransaction(begin: backend.beginWrite) { db in
            try await db.raw(SQLStoreRows.insert(
                into: "verifications", columns: SQLStoreRows.verificationColumns, values: SQLStoreRows.values(verification)
            )).run()
            try await Self.insertEvent(event, db)
        }
        return true
    }

    public func verification(id: String) async throws -> Verification? {
        try await reader.withDatabase { db in
            try await db.raw("\(unsafeRaw: SQLStoreRows.verificationSelect) WHERE id = \(bind: id)").first()
                .map(SQLStoreRows.verification)
        }
    }

    public func update(_ verification: Verification, event: VerificationEvent, webhook: WebhookDelivery?) async throws -> Bool {
        try await writer.withTransaction(begin: backend.beginWrite) { db in
            guard try await Self.updateVersioned(verification, db) else { return false }
            try await Self.insertEvent(event, db)
            if let webhook {
                try await db.raw(SQLStoreRows.upsert(
                    into: "webhook_deliveries", columns: SQLStoreRows.webhookColumns, values: SQLStoreRows.values(webhook)
                )).run()
            }
            return true
        }
    }

    public func systemNumberHolds(caller: String, now: Date) async throws -> [SystemNumberHold] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT system_number, verification_id, held_until FROM system_number_holds
                WHERE to_number = \(bind: caller) AND held_until > \(bind: SQLTime.micros(now)) ORDER BY held_until
                """).all().map { row in
                SystemNumberHold(
                    systemNumber: try row.decode(column: "system_number", as: String.self),
                    verificationID: try row.decode(column: "verification_id", as: String.self),
                    until: SQLTime.date(try row.decode(column: "held_until", as: Int64.self)))
            }
        }
    }

    public func holdSystemNumber(_ hold: SystemNumberHold, caller: String, now: Date, replacing: String?) async throws -> Bool {
        // One statement: insert, or take over a hold that ended or belongs to `replacing`
        // (SQLite ≥ 3.35 and PostgreSQL: upsert with a WHERE on the update, and RETURNING).
        try await writer.withDatabase { db in
            try await !db.raw("""
                INSERT INTO system_number_holds (to_number, system_number, verification_id, held_until)
                VALUES (\(bind: caller), \(bind: hold.systemNumber), \(bind: hold.verificationID), \(bind: SQLTime.micros(hold.until)))
                ON CONFLICT (to_number, system_number) DO UPDATE
                SET verification_id = excluded.verification_id, held_until = excluded.held_until
                WHERE system_number_holds.held_until <= \(bind: SQLTime.micros(now))
                   OR system_number_holds.verification_id = \(bind: replacing ?? "")
                RETURNING verification_id
                """).all().isEmpty
        }
    }

    public func releaseSystemNumberHolds(endedBy now: Date) async throws {
        try await writer.withDatabase { db in
            try await db.raw("DELETE FROM system_number_holds WHERE held_until <= \(bind: SQLTime.micros(now))").run()
        }
    }

    public func pendingCallIn(caller: String, systemNumber: String?) async throws -> [Verification] {
        let callIn = VerificationChannel.allCases.filter(\.isCallIn).map(\.rawValue)
        return try await reader.withDatabase { db in
            var query: SQLQueryString = """
                \(unsafeRaw: SQLStoreRows.verificationSelect)
                WHERE to_number = \(bind: caller) AND status = 'pending' AND channel IN (\(binds: callIn))
                """
            if let systemNumber {
                query.appendLiteral(" AND system_number = ")
                query.appendInterpolation(bind: systemNumber)
            }
            query.appendLiteral(" ORDER BY created_at DESC, id DESC")
            return try await db.raw(query).all().map(SQLStoreRows.verification)
        }
    }

    public func pendingCounts(systemNumbers: [String]) async throws -> [String: Int] {
        guard !systemNumbers.isEmpty else { return [:] }
        return try await reader.withDatabase { db in
            var counts: [String: Int] = [:]
            for row in try await db.raw("""
                SELECT system_number, COUNT(*) AS pending FROM verifications
                WHERE status = 'pending' AND system_number IN (\(binds: systemNumbers))
                GROUP BY system_number
                """).all() {
                counts[try row.decode(column: "system_number", as: String.self)] = Int(try row.decode(column: "pending", as: Int64.self))
            }
            return counts
        }
    }

    public func recordSend(to: String, verificationID: String, at: Date) async throws {
        try await writer.withDatabase { db in
            try await db.raw("""
                INSERT INTO sends (to_number, verification_id, at) VALUES (\(bind: to), \(bind: verificationID), \(bind: SQLTime.micros(at)))
                """).run()
        }
    }

    public func sends(to: String, since: Date, limit: Int) async throws -> [Date] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT at FROM sends WHERE to_number = \(bind: to) AND at > \(bind: SQLTime.micros(since))
                ORDER BY at, id LIMIT \(bind: Int64(max(0, limit)))
                """).all().map { SQLTime.date(try $0.decode(column: "at", as: Int64.self)) }
        }
    }

    public func events(verificationID: String) async throws -> [VerificationEvent] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT verification_id, kind, status, at, detail FROM audit_events
                WHERE verification_id = \(bind: verificationID) ORDER BY at, id
                """).all().map(SQLStoreRows.event)
        }
    }

    public func events(verificationIDs: [String], since: Date) async throws -> [VerificationEvent] {
        guard !verificationIDs.isEmpty else { return [] }
        return try await reader.withDatabase { db in
            try await db.raw("""
                SELECT verification_id, kind, status, at, detail FROM audit_events
                WHERE verification_id IN (\(binds: verificationIDs)) AND at >= \(bind: SQLTime.micros(since)) ORDER BY at, id
                """).all().map(SQLStoreRows.event)
        }
    }

    public func dueWebhooks(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT \(unsafeRaw: SQLStoreRows.webhookColumns.joined(separator: ", ")) FROM webhook_deliveries
                WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= \(bind: SQLTime.micros(now))
                ORDER BY created_at, id LIMIT \(bind: Int64(max(0, limit)))
                """).all().map(SQLStoreRows.webhook)
        }
    }

    public func updateWebhook(_ webhook: WebhookDelivery) async throws {
        try await writer.withDatabase { db in
            try await db.raw(SQLStoreRows.upsert(
                into: "webhook_deliveries", columns: SQLStoreRows.webhookColumns, values: SQLStoreRows.values(webhook)
            )).run()
        }
    }

    public func expiredPending(now: Date, limit: Int) async throws -> [Verification] {
        try await reader.withDatabase { db in
            try await db.raw("""
                \(unsafeRaw: SQLStoreRows.verificationSelect)
                WHERE status = 'pending' AND expires_at <= \(bind: SQLTime.micros(now))
                ORDER BY expires_at, id LIMIT \(bind: Int64(max(0, limit)))
                """).all().map(SQLStoreRows.verification)
        }
    }

    public func scheduleCallRetry(verificationID: String, at: Date) async throws {
        try await writer.withDatabase { db in
            try await db.raw("""
                INSERT INTO call_retries (verification_id, due_at) VALUES (\(bind: verificationID), \(bind: SQLTime.micros(at)))
                ON CONFLICT (verification_id) DO UPDATE SET due_at = excluded.due_at
                """).run()
        }
    }

    public func claimDueCallRetries(now: Date, limit: Int) async throws -> [String] {
        try await claimDue(from: "call_retries", key: "verification_id", now: now, limit: limit)
            .map { try $0.decode(column: "verification_id", as: String.self) }
    }

    public func recordSentSMS(key: String, verificationID: String, dueAt: Date, reportRequired: Bool) async throws {
        try await writer.withDatabase { db in
            try await db.raw("""
                INSERT INTO sent_sms (message_key, verification_id, due_at, report_required)
                VALUES (\(bind: key), \(bind: verificationID), \(bind: SQLTime.micros(dueAt)), \(bind: reportRequired))
                ON CONFLICT (message_key) DO UPDATE SET verification_id = excluded.verification_id,
                    due_at = excluded.due_at, report_required = excluded.report_required
                """).run()
        }
    }

    public func sentSMSOwner(key: String) async throws -> String? {
        try await reader.withDatabase { db in
            try await db.raw("SELECT verification_id FROM sent_sms WHERE message_key = \(bind: key)").first()
                .map { try $0.decode(column: "verification_id", as: String.self) }
        }
    }

    public func settleSentSMS(key: String) async throws -> String? {
        try await writer.withDatabase { db in
            try await db.raw("DELETE FROM sent_sms WHERE message_key = \(bind: key) RETURNING verification_id").first()
                .map { try $0.decode(column: "verification_id", as: String.self) }
        }
    }

    public func claimDueSentSMS(now: Date, limit: Int) async throws -> [SentSMS] {
        try await claimDue(from: "sent_sms", key: "message_key", returning: ["verification_id", "report_required"], now: now, limit: limit)
            .map { row in
                SentSMS(key: try row.decode(column: "message_key", as: String.self),
                        verificationID: try row.decode(column: "verification_id", as: String.self),
                        reportRequired: try row.decode(column: "report_required", as: Bool.self))
            }
    }

    /// Takes the rows of `table` whose `due_at` is at or before `now` (at most `limit`) and deletes
    /// them in one DELETE … RETURNING: on PostgreSQL a second node's DELETE waits for the first's
    /// row locks and then finds the rows gone, so each row is claimed once. The rows come earliest
    /// first (then by `key`) with `key`, `due_at` and the `returning` columns.
    private func claimDue(from table: String, key: String, returning: [String] = [], now: Date, limit: Int) async throws -> [any SQLRow] {
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

    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        try await writer.withDatabase { db in
            try await db.raw(SQLStoreRows.insert(
                into: "api_keys", columns: ["id", "name", "sha256", "created_at"],
                values: [key.id, key.name, Data(key.sha256), SQLTime.micros(key.createdAt)]
            )).run()
        }
    }

    public func apiKey(sha256: [UInt8]) async throws -> APIKeyRecord? {
        try await reader.withDatabase { db in
            try await db.raw("SELECT id, name, sha256, created_at FROM api_keys WHERE sha256 = \(bind: Data(sha256))")
                .first().map(SQLStoreRows.apiKey)
        }
    }

    public func apiKeyCount() async throws -> Int {
        try await reader.withDatabase { db in
            Int(try await db.raw("SELECT COUNT(*) AS n FROM api_keys").first()?.decode(column: "n", as: Int64.self) ?? 0)
        }
    }

    // MARK: helpers

    /// Runs `body` on the write connection (tests and maintenance only; not part of the store API).
    func withRawDatabase<R>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        try await writer.withDatabase(body)
    }

    /// Writes `verification` over the stored row if its version is `verification.version - 1`;
    /// false when another writer got there first.
    static func updateVersioned(_ verification: Verification, _ db: any SQLDatabase) async throws -> Bool {
        var query: SQLQueryString = "UPDATE verifications SET "
        let values = SQLStoreRows.values(verification)
        for (index, column) in SQLStoreRows.verificationColumns.enumerated() where column != "id" {
            query.appendLiteral(index == 1 ? "" : ", ")
            query.appendLiteral("\(column) = ")
            query.appendInterpolation(bind: values[index])
        }
        query.appendLiteral(" WHERE id = ")
        query.appendInterpolation(bind: verification.id)
        query.appendLiteral(" AND version = ")
        query.appendInterpolation(bind: Int64(verification.version - 1))
        query.appendLiteral(" RETURNING id")
        return try await !db.raw(query).all().isEmpty
    }

    static func insertEvent(_ event: VerificationEvent, _ db: any SQLDatabase) async throws {
        try await db.raw(SQLStoreRows.insert(
            into: "audit_events", columns: ["verification_id", "kind", "status", "at", "detail"],
            values: [event.verificationID, event.kind.rawValue, event.status.rawValue, SQLTime.micros(event.at), event.detail]
        )).run()
    }
}
