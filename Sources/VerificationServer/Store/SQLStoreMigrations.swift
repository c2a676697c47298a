import SQLKit

/// One numbered schema change. Applied in order, each recorded in `schema_migrations`; never edit
/// a released migration, add a new one.
///
/// Conventions of the schema: instants are `BIGINT` microseconds since 1970-01-01 UTC (integer
/// comparison and ordering behave the same on SQLite and PostgreSQL, sub-second precision kept;
/// `Date`s are rounded to the microsecond); enums are their raw string values; byte strings are
/// `BLOB`/`BYTEA`. No column ever holds a code or a secret: codes are HMACs, API keys SHA-256.
struct SQLStoreMigration: Sendable {
    let version: Int
    let name: String
    let statements: @Sendable (SQLStoreBackend) -> [String]

    /// Every migration, in order.
    static let all: [SQLStoreMigration] = [
        SQLStoreMigration(version: 1, name: "initial", statements: initial),
        SQLStoreMigration(version: 2, name: "call_retries", statements: callRetries),
        SQLStoreMigration(version: 3, name: "sent_sms", statements: sentSMS),
        SQLStoreMigration(version: 4, name: "pending_not_unique", statements: pendingNotUnique),
        SQLStoreMigration(version: 5, name: "send_guards", statements: sendGuards),
        SQLStoreMigration(version: 6, name: "api_key_revocation", statements: apiKeyRevocation),
        SQLStoreMigration(version: 7, name: "rate_limits", statements: rateLimits),
        SQLStoreMigration(version: 8, name: "audit_event_notify", statements: auditEventNotify),
        SQLStoreMigration(version: 9, name: "caller_pending_index", statements: callerPendingIndex),
        SQLStoreMigration(version: 10, name: "pending_partial_indexes", statements: pendingPartialIndexes),
        SQLStoreMigration(version: 11, name: "call_in_partial_indexes", statements: callInPartialIndexes),
    ]

    /// Issue 15: the two indexes looked up by system number hold pending call-in verifications
    /// only, the rows that have a system number (`VerificationService` holds one for each call-in
    /// start and for nothing else). Migration 10's held every pending verification, so an sms
    /// check's approval removed an entry from each: two more leaf pages written to the WAL, for rows
    /// that no lookup by system number can find. The lookups name the column (`system_number = ?`,
    /// `IN (…)`, or `IS NOT NULL` when any number will do), which implies the index's
    /// `system_number IS NOT NULL` (SQLite "Partial Indexes" §2.2, PostgreSQL §11.8).
    private static func callInPartialIndexes(_ backend: SQLStoreBackend) -> [String] {
        [
            """
            CREATE INDEX IF NOT EXISTS verifications_call_in_caller ON verifications (to_number, system_number)
            WHERE status = 'pending' AND system_number IS NOT NULL
            """,
            """
            CREATE INDEX IF NOT EXISTS verifications_call_in_system ON verifications (system_number)
            WHERE status = 'pending' AND system_number IS NOT NULL
            """,
            "DROP INDEX IF EXISTS verifications_pending_caller",
            "DROP INDEX IF EXISTS verifications_pending_system",
        ]
    }

    /// Issue 15: an inbound call looks up the caller's pending verifications for one system number
    /// (`pendingCallIn`: `to_number = ? AND status = 'pending' AND system_number = ?`). With only
    /// (to_number, status) and (system_number, status) to choose from, SQLite 3.40 (Debian 12's)
    /// took the system number's index, which every pending verification on that number shares: one
    /// missed call scanned thousands of rows, and calls at a few hundred a second fell behind. An
    /// index on all three columns wins on every planner; it also serves every (to_number, status)
    /// lookup, so the two-column one goes.
    private static func callerPendingIndex(_ backend: SQLStoreBackend) -> [String] {
        [
            "CREATE INDEX IF NOT EXISTS verifications_to_status_system ON verifications (to_number, status, system_number)",
            "DROP INDEX IF EXISTS verifications_to_status",
        ]
    }

    /// Issue 15: every lookup by status asks for `status = 'pending'`, written as a literal
    /// (`pendingCallIn`, `pendingCounts`, `expiredPending`), so the three indexes that had status as
    /// a column become partial indexes of the pending rows (SQLite "Partial Indexes" §3, PostgreSQL
    /// §11.8: a literal in the query implies the index's WHERE). An approval, expiry or
    /// cancellation then removes one entry from each instead of moving it to another part of the
    /// B-tree (two leaf pages written, each a WAL frame), and the indexes hold the pending rows
    /// only, not the whole history, so they stay small and in the page cache.
    private static func pendingPartialIndexes(_ backend: SQLStoreBackend) -> [String] {
        [
            "CREATE INDEX IF NOT EXISTS verifications_pending_caller ON verifications (to_number, system_number) WHERE status = 'pending'",
            "CREATE INDEX IF NOT EXISTS verifications_pending_system ON verifications (system_number) WHERE status = 'pending'",
            "CREATE INDEX IF NOT EXISTS verifications_pending_expiry ON verifications (expires_at) WHERE status = 'pending'",
            "DROP INDEX IF EXISTS verifications_to_status_system",
            "DROP INDEX IF EXISTS verifications_system_status",
            "DROP INDEX IF EXISTS verifications_status_expires",
        ]
    }

    /// Issue 16: request limits shared by the nodes of one database (`SQLVerificationStore+RateLimits`):
    /// one row per limited key, its GCRA theoretical arrival time. A row whose time has passed
    /// carries nothing (its bucket is full again) and is purged.
    private static func rateLimits(_ backend: SQLStoreBackend) -> [String] {
        [
            "CREATE TABLE IF NOT EXISTS rate_limits (bucket TEXT PRIMARY KEY, tat BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS rate_limits_tat ON rate_limits (tat)",
        ]
    }

    /// Issue 16: on PostgreSQL every audit event committed by any node is announced with NOTIFY on
    /// channel `verigate_audit_events` (`SQLVerificationStore+AuditEventListening`), so the other
    /// nodes' listeners read it at once instead of polling. A trigger, so that every writer (each
    /// node, any release that writes events) announces without a statement of its own; `pg_notify`
    /// is transactional (sent at COMMIT, never for a rolled-back event) and folds duplicates within
    /// a transaction. The payload is `<schema> <verification id>`: channels are database-wide, and
    /// deployments in other schemas of one database skip each other's. SQLite is one node: nothing
    /// to announce.
    private static func auditEventNotify(_ backend: SQLStoreBackend) -> [String] {
        switch backend {
        case .sqlite: return []
        case .postgres: return [
            """
            CREATE OR REPLACE FUNCTION verigate_notify_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('verigate_audit_events', TG_TABLE_SCHEMA || ' ' || NEW.verification_id);
                RETURN NULL;
            END
            $$
            """,
            "DROP TRIGGER IF EXISTS audit_events_notify ON audit_events",
            "CREATE TRIGGER audit_events_notify AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION verigate_notify_audit_event()",
        ]
        }
    }

    /// Issue 13: `verigate api-key revoke` marks a key revoked instead of deleting it (verifications
    /// keep naming their key); NULL while the key is valid.
    private static func apiKeyRevocation(_ backend: SQLStoreBackend) -> [String] {
        ["ALTER TABLE api_keys ADD COLUMN revoked_at BIGINT"]
    }

    /// Issue 12: every start is its own verification, so the "one pending per number and channel"
    /// index goes. Call-in system numbers are held per caller instead (`system_number_holds`, one
    /// row per caller and number: the hold of the verification it was last shown for, until that
    /// one's expiry); pending call-in verifications of older versions keep their numbers.
    private static func pendingNotUnique(_ backend: SQLStoreBackend) -> [String] {
        [
            "DROP INDEX IF EXISTS verifications_pending_unique",
            """
            CREATE TABLE IF NOT EXISTS system_number_holds (
                to_number TEXT NOT NULL,
                system_number TEXT NOT NULL,
                verification_id TEXT NOT NULL,
                held_until BIGINT NOT NULL,
                PRIMARY KEY (to_number, system_number)
            )
            """,
            "CREATE INDEX IF NOT EXISTS system_number_holds_until ON system_number_holds (held_until)",
            """
            INSERT INTO system_number_holds (to_number, system_number, verification_id, held_until)
            SELECT to_number, system_number, id, expires_at FROM verifications
            WHERE status = 'pending' AND system_number IS NOT NULL
            ON CONFLICT (to_number, system_number) DO NOTHING
            """,
        ]
    }

    /// The channel and number prefix of each send, for the hourly prefix and channel guards
    /// (`reserveSend`). Touches only `sends`, so it applies after version 4 or without it; rows
    /// from before it have neither and count only for the per-number limit.
    private static func sendGuards(_ backend: SQLStoreBackend) -> [String] {
        [
            "ALTER TABLE sends ADD COLUMN channel TEXT",
            "ALTER TABLE sends ADD COLUMN prefix TEXT",
            "CREATE INDEX IF NOT EXISTS sends_prefix_at ON sends (prefix, at)",
            "CREATE INDEX IF NOT EXISTS sends_channel_at ON sends (channel, at)",
        ]
    }

    /// SMS whose delivery report may still come (SMPP message_id or Kannel nonce → verification),
    /// each claimed at `due_at`: its report deadline, or the end of its retention.
    private static func sentSMS(_ backend: SQLStoreBackend) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS sent_sms (
                message_key TEXT PRIMARY KEY,
                verification_id TEXT NOT NULL REFERENCES verifications (id) ON DELETE CASCADE,
                due_at BIGINT NOT NULL,
                report_required BOOLEAN NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS sent_sms_due ON sent_sms (due_at)",
        ]
    }

    /// Outgoing calls to place again (the retry policy), kept so a restart loses none.
    private static func callRetries(_ backend: SQLStoreBackend) -> [String] {
        [
            """
            CREATE TABLE IF NOT EXISTS call_retries (
                verification_id TEXT PRIMARY KEY REFERENCES verifications (id) ON DELETE CASCADE,
                due_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS call_retries_due ON call_retries (due_at)",
        ]
    }

    private static func initial(_ backend: SQLStoreBackend) -> [String] {
        let blob = backend.blobType
        let serial = backend.serialPrimaryKey
        return [
            """
            CREATE TABLE IF NOT EXISTS verifications (
                id TEXT PRIMARY KEY,
                to_number TEXT NOT NULL,
                region TEXT NOT NULL,
                channel TEXT NOT NULL,
                status TEXT NOT NULL,
                locale TEXT NOT NULL,
                code_length BIGINT NOT NULL,
                code_mac \(blob),
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                last_sent_at BIGINT,
                send_count BIGINT NOT NULL,
                check_attempts BIGINT NOT NULL,
                system_number TEXT,
                callback_url TEXT,
                api_key_id TEXT,
                failure_reason TEXT,
                version BIGINT NOT NULL
            )
            """,
            // At most one pending verification per number and channel: `insert` of a second one
            // fails on this index and returns false, on every node sharing the database.
            "CREATE UNIQUE INDEX IF NOT EXISTS verifications_pending_unique ON verifications (to_number, channel) WHERE status = 'pending'",
            "CREATE INDEX IF NOT EXISTS verifications_to_status ON verifications (to_number, status)",
            "CREATE INDEX IF NOT EXISTS verifications_system_status ON verifications (system_number, status)",
            "CREATE INDEX IF NOT EXISTS verifications_status_expires ON verifications (status, expires_at)",
            """
            CREATE TABLE IF NOT EXISTS sends (
                id \(serial),
                to_number TEXT NOT NULL,
                verification_id TEXT NOT NULL,
                at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS sends_to_at ON sends (to_number, at)",
            """
            CREATE TABLE IF NOT EXISTS audit_events (
                id \(serial),
                verification_id TEXT NOT NULL REFERENCES verifications (id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                status TEXT NOT NULL,
                at BIGINT NOT NULL,
                detail TEXT
            )
            """,
            "CREATE INDEX IF NOT EXISTS audit_events_verification ON audit_events (verification_id, at)",
            """
            CREATE TABLE IF NOT EXISTS webhook_deliveries (
                id TEXT PRIMARY KEY,
                verification_id TEXT NOT NULL REFERENCES verifications (id) ON DELETE CASCADE,
                url TEXT NOT NULL,
                body TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                delivered_at BIGINT,
                abandoned_at BIGINT,
                last_error TEXT
            )
            """,
            "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL",
            """
            CREATE TABLE IF NOT EXISTS api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                sha256 \(blob) NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )
            """,
        ]
    }
}

/// Applies `SQLStoreMigration.all` at start. Safe when several nodes start at once: on PostgreSQL a
/// session advisory lock serializes the runners of one schema; on SQLite the whole run is one
/// `BEGIN IMMEDIATE` transaction. Each runner re-reads `schema_migrations` under the lock, so reruns
/// are no-ops.
enum SQLStoreMigrator {
    /// Advisory lock key of the default schema: "VERIGATE" in ASCII (the key every release used).
    static let advisoryLockKey: Int64 = 0x5645_5249_4741_5445

    /// The advisory lock key of the runners migrating `schema` (nil: the connection's default).
    /// Deployments in other schemas of one database never wait for each other's migrations;
    /// nodes of one deployment share the key. A schema's key is "VERIGATE" mixed with the FNV-1a
    /// hash of its name, so it is the same in every process and release.
    static func advisoryLockKey(schema: String?) -> Int64 {
        guard let schema else { return advisoryLockKey }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in schema.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash ^ UInt64(bitPattern: advisoryLockKey))
    }

    static func migrate(
        lender: any SQLDatabaseLender, backend: SQLStoreBackend, postgresSchema: String?, now: Int64
    ) async throws {
        switch backend {
        case .sqlite:
            try await lender.withTransaction(begin: backend.beginWrite) { db in
                try await applyPending(db, backend: backend, now: now)
            }
        case .postgres:
            let lockKey = advisoryLockKey(schema: postgresSchema)
            try await lender.withDatabase { db in
                try await db.raw("SELECT pg_advisory_lock(\(bind: lockKey))").run()
                do {
                    if let postgresSchema {
                        try await db.raw("CREATE SCHEMA IF NOT EXISTS \(ident: postgresSchema)").run()
                    }
                    try await db.raw("BEGIN").run()
                    do {
                        try await applyPending(db, backend: backend, now: now)
                        try await db.raw("COMMIT").run()
                    } catch {
                        try? await db.raw("ROLLBACK").run()
                        throw error
                    }
                } catch {
                    try? await db.raw("SELECT pg_advisory_unlock(\(bind: lockKey))").run()
                    throw error
                }
                try await db.raw("SELECT pg_advisory_unlock(\(bind: lockKey))").run()
            }
        }
    }

    private static func applyPending(_ db: any SQLDatabase, backend: SQLStoreBackend, now: Int64) async throws {
        try await db.raw("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )
            """).run()
        let applied = Set(try await appliedVersions(db))
        for migration in SQLStoreMigration.all where !applied.contains(migration.version) {
            for statement in migration.statements(backend) {
                try await db.raw(SQLQueryString(statement)).run()
            }
            try await db.raw("""
                INSERT INTO schema_migrations (version, name, applied_at)
                VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: now))
                """).run()
        }
    }

    /// Versions recorded in `schema_migrations`, ascending.
    static func appliedVersions(_ db: any SQLDatabase) async throws -> [Int] {
        try await db.raw("SELECT version FROM schema_migrations ORDER BY version").all()
            .map { try $0.decode(column: "version", as: Int.self) }
    }
}
