import Foundation
import SQLKit
import Verification
import enum Verification.VerificationMethod

// Verifications themselves (VerificationRecordStore): every write is one transaction on the
// writer, with its audit event (and webhook) — all or nothing; updates are versioned.
// docs/ARCHITECTURE.md, "Storage".
extension SQLVerificationStore {
    /// `VerificationRecordStore.insert(_:event:)`, in SQL.
    public func insert(_ verification: Verification, event: VerificationEvent) async throws -> Bool {
        try await writer.withTransaction(begin: backend.beginWrite) { db in
            try await db.raw(SQLStoreRows.insert(
                into: "verifications", columns: SQLStoreRows.verificationColumns, values: SQLStoreRows.values(verification)
            )).run()
            try await Self.insertEvent(event, db)
        }
        return true
    }

    /// `VerificationRecordStore.verification(id:)`, in SQL.
    public func verification(id: String) async throws -> Verification? {
        try await reader.withDatabase { db in try await Self.verification(id: id, db) }
    }

    /// `VerificationRecordStore.update(_:event:webhook:)`, in SQL.
    public func update(_ verification: Verification, event: VerificationEvent, webhook: WebhookDelivery?) async throws -> Bool {
        let write = VerificationWrite(verification: verification, event: event, webhook: webhook)
        return try await writer.withTransaction(begin: backend.beginWrite) { db in try await Self.write(write, db) }
    }

    /// `VerificationRecordStore.change(id:_:)`, in SQL: the SELECT, `decide` and the writes in one
    /// transaction on the writer. On SQLite that is one group-committed operation, and the read
    /// comes from the write connection's page cache, which other connections' commits do not empty
    /// as they do a reader's (docs/ARCHITECTURE.md, "Storage"). The write stays versioned, for
    /// PostgreSQL's concurrent transactions.
    public func change<Answer: Sendable>(
        id: String, _ decide: @escaping @Sendable (Verification?) -> VerificationDecision<Answer>
    ) async throws -> VerificationDecision<Answer>? {
        try await changing { db in decide(try await Self.verification(id: id, db)) }
    }

    /// `VerificationRecordStore.changePendingCallIn`, in SQL: like `change(id:_:)`, the SELECT of
    /// `pendingCallIn`, `decide` and the writes in one transaction on the writer.
    public func changePendingCallIn<Answer: Sendable>(
        caller: String, systemNumber: String?, _ decide: @escaping @Sendable ([Verification]) -> VerificationDecision<Answer>
    ) async throws -> VerificationDecision<Answer>? {
        try await changing { db in
            decide(try await db.raw(Self.pendingCallInQuery(caller: caller, systemNumber: systemNumber)).all().map(SQLStoreRows.verification))
        }
    }

    /// A write transaction that reads and decides (`decide`), then writes the decision's writes,
    /// all or nothing; nil (nothing written) when one of them lost the version.
    private func changing<Answer: Sendable>(
        _ decide: @escaping @Sendable (any SQLDatabase) async throws -> VerificationDecision<Answer>
    ) async throws -> VerificationDecision<Answer>? {
        do {
            return try await writer.withTransaction(begin: backend.beginWrite) { db in
                let decision = try await decide(db)
                for write in decision.writes {
                    // Thrown, so that the writes before it roll back with the transaction.
                    guard try await Self.write(write, db) else { throw LostVersion() }
                }
                return decision
            }
        } catch is LostVersion {
            return nil
        }
    }

    /// A write of a changed decision lost the version to another writer.
    private struct LostVersion: Error {}

    /// Writes `write` inside the caller's transaction: the versioned update, its event and webhook;
    /// false (nothing written) when the stored version is not the one before.
    static func write(_ write: VerificationWrite, _ db: any SQLDatabase) async throws -> Bool {
        guard try await updateVersioned(write.verification, db) else { return false }
        try await insertEvent(write.event, db)
        if let webhook = write.webhook {
            try await db.raw(SQLStoreRows.upsert(
                into: "webhook_deliveries", columns: SQLStoreRows.webhookColumns, values: SQLStoreRows.values(webhook)
            )).run()
        }
        return true
    }

    /// `VerificationRecordStore.pendingCallIn(caller:systemNumber:)`, in SQL.
    public func pendingCallIn(caller: String, systemNumber: String?) async throws -> [Verification] {
        try await reader.withDatabase { db in
            try await db.raw(Self.pendingCallInQuery(caller: caller, systemNumber: systemNumber)).all().map(SQLStoreRows.verification)
        }
    }

    /// The SELECT of `pendingCallIn`.
    static func pendingCallInQuery(caller: String, systemNumber: String?) -> SQLQueryString {
        var query: SQLQueryString = """
            \(unsafeRaw: SQLStoreRows.verificationSelect)
            WHERE to_number = \(bind: caller) AND status = 'pending' AND channel IN (\(binds: callInChannels))
            """
        // Either term lets the planner use the call-in index (migration 11), whose rows are the
        // ones with a system number.
        if let systemNumber {
            query.appendLiteral(" AND system_number = ")
            query.appendInterpolation(bind: systemNumber)
        } else {
            query.appendLiteral(" AND system_number IS NOT NULL")
        }
        query.appendLiteral(" ORDER BY created_at DESC, id DESC")
        return query
    }

    /// The call-in channels' names, as stored.
    private static let callInChannels = VerificationMethod.allCases.filter(\.isCallIn).map(\.rawValue)

    /// `VerificationRecordStore.pendingCounts(systemNumbers:)`, in SQL.
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

    /// `VerificationRecordStore.expiredPending(now:limit:)`, in SQL.
    public func expiredPending(now: Date, limit: Int) async throws -> [Verification] {
        try await reader.withDatabase { db in
            try await db.raw("""
                \(unsafeRaw: SQLStoreRows.verificationSelect)
                WHERE status = 'pending' AND expires_at <= \(bind: SQLTime.micros(now))
                ORDER BY expires_at, id LIMIT \(bind: Int64(max(0, limit)))
                """).all().map(SQLStoreRows.verification)
        }
    }

    /// Writes `verification` over the stored row if its version is `verification.version - 1`;
    /// false when another writer got there first.
    static func updateVersioned(_ verification: Verification, _ db: any SQLDatabase) async throws -> Bool {
        // Every column but the id, then the id and the version it replaces.
        var binds = SQLStoreRows.values(verification)
        binds.removeFirst()
        binds.append(verification.id)
        binds.append(Int64(verification.version - 1))
        // As SQLKit's own fetchers: rows are handed over before `execute` returns.
        nonisolated(unsafe) var returned = false
        try await db.execute(sql: versionedUpdate.statement(binds, on: db)) { _ in returned = true }
        return returned
    }

    /// `UPDATE verifications SET … WHERE id = ? AND version = ? RETURNING id`.
    private static let versionedUpdate = SQLTemplate { binds in
        var query: SQLQueryString = "UPDATE verifications SET "
        for (index, column) in SQLStoreRows.verificationColumns.dropFirst().enumerated() {
            query.appendLiteral(index == 0 ? "" : ", ")
            query.appendLiteral("\(column) = ")
            query.appendInterpolation(bind: binds[index])
        }
        query.appendLiteral(" WHERE id = ")
        query.appendInterpolation(bind: binds[binds.count - 2])
        query.appendLiteral(" AND version = ")
        query.appendInterpolation(bind: binds[binds.count - 1])
        query.appendLiteral(" RETURNING id")
        return query
    }

    /// `SELECT … FROM verifications WHERE id = ?`.
    static let selectByID = SQLTemplate { binds in "\(unsafeRaw: SQLStoreRows.verificationSelect) WHERE id = \(bind: binds[0])" }

    /// The verification `id` on `db`.
    static func verification(id: String, _ db: any SQLDatabase) async throws -> Verification? {
        nonisolated(unsafe) var row: (any SQLRow)?
        try await db.execute(sql: selectByID.statement([id], on: db)) { row = row ?? $0 }
        return try row.map(SQLStoreRows.verification)
    }
}
