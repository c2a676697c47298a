import Foundation
import SQLKit
import Verification

// Outgoing calls to place again (CallRetryStore), claimed once across nodes by claimDue.
extension SQLVerificationStore {
    /// `CallRetryStore.scheduleCallRetry(verificationID:at:)`, in SQL.
    public func scheduleCallRetry(verificationID: String, at: Date) async throws {
        try await writer.withDatabase { db in
            try await db.raw("""
                INSERT INTO call_retries (verification_id, due_at) VALUES (\(bind: verificationID), \(bind: SQLTime.micros(at)))
                ON CONFLICT (verification_id) DO UPDATE SET due_at = excluded.due_at
                """).run()
        }
    }

    /// `CallRetryStore.claimDueCallRetries(now:limit:)`, in SQL.
    public func claimDueCallRetries(now: Date, limit: Int) async throws -> [String] {
        try await claimDue(from: "call_retries", key: "verification_id", now: now, limit: limit)
            .map { try $0.decode(column: "verification_id", as: String.self) }
    }
}
