import Foundation
import SQLKit
import Verification

// The audit trail (AuditEventStore): written inside each verification write, read by the API and
// by other nodes' StoreEventFollower.
extension SQLVerificationStore {
    /// `AuditEventStore.events(verificationID:)`, in SQL.
    public func events(verificationID: String) async throws -> [VerificationEvent] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT verification_id, kind, status, at, detail FROM audit_events
                WHERE verification_id = \(bind: verificationID) ORDER BY at, id
                """).all().map(SQLStoreRows.event)
        }
    }

    /// `AuditEventStore.events(verificationIDs:since:)`, in SQL.
    public func events(verificationIDs: [String], since: Date) async throws -> [VerificationEvent] {
        guard !verificationIDs.isEmpty else { return [] }
        return try await reader.withDatabase { db in
            try await db.raw("""
                SELECT verification_id, kind, status, at, detail FROM audit_events
                WHERE verification_id IN (\(binds: verificationIDs)) AND at >= \(bind: SQLTime.micros(since)) ORDER BY at, id
                """).all().map(SQLStoreRows.event)
        }
    }

    /// Inserts `event` on `db`, inside the caller's transaction (every verification write has one).
    static func insertEvent(_ event: VerificationEvent, _ db: any SQLDatabase) async throws {
        let binds: [SQLStoreRows.Value] = [event.verificationID, event.kind.rawValue, event.status.rawValue, SQLTime.micros(event.at), event.detail]
        try await db.execute(sql: eventInsert.statement(binds, on: db)) { _ in }
    }

    /// `INSERT INTO audit_events (…) VALUES (…)`.
    private static let eventInsert = SQLTemplate { binds in
        SQLStoreRows.insert(into: "audit_events", columns: ["verification_id", "kind", "status", "at", "detail"], values: binds)
    }
}
