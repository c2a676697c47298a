import Foundation
import SQLKit
import Verification

// SMS whose delivery report may still come (SentSMSStore): message key → verification, claimed
// once across nodes at its due time by claimDue.
extension SQLVerificationStore {
    /// `SentSMSStore.recordSentSMS(key:verificationID:dueAt:reportRequired:)`, in SQL.
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

    /// `SentSMSStore.sentSMSOwner(key:)`, in SQL.
    public func sentSMSOwner(key: String) async throws -> String? {
        try await reader.withDatabase { db in
            try await db.raw("SELECT verification_id FROM sent_sms WHERE message_key = \(bind: key)").first()
                .map { try $0.decode(column: "verification_id", as: String.self) }
        }
    }

    /// `SentSMSStore.settleSentSMS(key:)`, in SQL.
    public func settleSentSMS(key: String) async throws -> String? {
        try await writer.withDatabase { db in
            try await db.raw("DELETE FROM sent_sms WHERE message_key = \(bind: key) RETURNING verification_id").first()
                .map { try $0.decode(column: "verification_id", as: String.self) }
        }
    }

    /// `SentSMSStore.claimDueSentSMS(now:limit:)`, in SQL.
    public func claimDueSentSMS(now: Date, limit: Int) async throws -> [SentSMS] {
        try await claimDue(from: "sent_sms", key: "message_key", returning: ["verification_id", "report_required"], now: now, limit: limit)
            .map { row in
                SentSMS(key: try row.decode(column: "message_key", as: String.self),
                        verificationID: try row.decode(column: "verification_id", as: String.self),
                        reportRequired: try row.decode(column: "report_required", as: Bool.self))
            }
    }
}
