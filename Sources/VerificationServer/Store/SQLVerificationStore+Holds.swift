import Foundation
import SQLKit
import Verification

// Call-in system numbers held per caller (SystemNumberHoldStore): one row per caller and number
// in system_number_holds, taken by one upsert so that of two nodes racing for a number one wins.
extension SQLVerificationStore {
    /// `SystemNumberHoldStore.systemNumberHolds(caller:now:)`, in SQL.
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

    /// `SystemNumberHoldStore.holdSystemNumber(_:caller:now:replacing:)`, in SQL.
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

    /// `SystemNumberHoldStore.releaseSystemNumberHolds(endedBy:)`, in SQL.
    public func releaseSystemNumberHolds(endedBy now: Date) async throws {
        try await writer.withDatabase { db in
            try await db.raw("DELETE FROM system_number_holds WHERE held_until <= \(bind: SQLTime.micros(now))").run()
        }
    }
}
