import Foundation
import SQLKit
import Verification

// The send log (SendLogStore). The send reservation of the SQL store (README "Security", send limits): the per-number limit
// and the prefix and channel guards are counted, and the send recorded with its verification
// write, in one transaction.
//
// Why it cannot race:
// - SQLite: every write runs on the one writer connection under BEGIN IMMEDIATE, which takes the
//   database's write lock before the first read; other processes on the same file wait on it
//   (busy timeout). Two reservations never overlap, so the counts each one reads are final.
// - PostgreSQL: under READ COMMITTED two transactions could both count N-1 and both insert. Each
//   reservation first takes transaction-scoped advisory locks (pg_advisory_xact_lock) on the keys
//   it counts — the number, the prefix (when that guard is on), the channel (when its budget is
//   on) — always in that order, so reservations sharing a key run one after the other on every
//   node, and the second one's counts (read after the first committed) include the first's send;
//   the fixed order rules out deadlocks, and plain `update`s take no advisory lock. Chosen over
//   SERIALIZABLE, which would make every caller retry on serialization failures, and over a
//   counter row per key, which would need sliding-window bookkeeping; the locks are held only
//   for a few short statements, and sends (each an SMS or a call) are rare next to reads.
extension SQLVerificationStore {
    /// `SendLogStore.recordSend(to:verificationID:at:)`, in SQL.
    public func recordSend(to: String, verificationID: String, at: Date) async throws {
        try await writer.withDatabase { db in
            try await db.raw("""
                INSERT INTO sends (to_number, verification_id, at) VALUES (\(bind: to), \(bind: verificationID), \(bind: SQLTime.micros(at)))
                """).run()
        }
    }

    /// `SendLogStore.sends(to:since:limit:)`, in SQL.
    public func sends(to: String, since: Date, limit: Int) async throws -> [Date] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT at FROM sends WHERE to_number = \(bind: to) AND at > \(bind: SQLTime.micros(since))
                ORDER BY at, id LIMIT \(bind: Int64(max(0, limit)))
                """).all().map { SQLTime.date(try $0.decode(column: "at", as: Int64.self)) }
        }
    }

    /// `SendLogStore.reserveSend(_:events:send:guards:)`, in SQL.
    public func reserveSend(_ write: SendWrite, events: [VerificationEvent], send: SendReservation, guards: SendGuards) async throws -> SendReservationOutcome {
        try await writer.withTransaction(begin: backend.beginWrite) { [backend] db in
            if backend == .postgres {
                var keys = ["number:" + send.to]
                if guards.maxPerPrefix > 0 { keys.append("prefix:" + send.prefix) }
                if guards.maxPerChannel > 0 { keys.append("channel:" + send.channel.rawValue) }
                for key in keys {
                    try await db.raw("SELECT pg_advisory_xact_lock(hashtextextended(\(bind: "verigate send " + key), 0))").run()
                }
            }
            let now = send.at
            let number = try await Self.window(db, column: "to_number", value: send.to,
                                               since: now.addingTimeInterval(-guards.numberWindow), counting: guards.maxPerNumber > 0)
            let prefix = try await Self.window(db, column: "prefix", value: send.prefix,
                                               since: now.addingTimeInterval(-guards.guardWindow), counting: guards.maxPerPrefix > 0)
            let channel = try await Self.window(db, column: "channel", value: send.channel.rawValue,
                                                since: now.addingTimeInterval(-guards.guardWindow), counting: guards.maxPerChannel > 0)
            if let refused = guards.refusal(now: now, number: number, prefix: prefix, channel: channel) {
                return .refused(refused.limit, retryAfter: refused.retryAfter)
            }
            switch write {
            case .insert(let v):
                try await db.raw(SQLStoreRows.insert(
                    into: "verifications", columns: SQLStoreRows.verificationColumns, values: SQLStoreRows.values(v)
                )).run()
            case .update(let v):
                guard try await Self.updateVersioned(v, db) else { return .conflict }
            }
            for event in events { try await Self.insertEvent(event, db) }
            try await db.raw("""
                INSERT INTO sends (to_number, verification_id, at, channel, prefix)
                VALUES (\(bind: send.to), \(bind: send.verificationID), \(bind: SQLTime.micros(send.at)),
                        \(bind: send.channel.rawValue), \(bind: send.prefix))
                """).run()
            return .reserved
        }
    }

    /// How many sends have `column = value` after `since`, and the oldest of them (0 and nil when
    /// not `counting`). Each guard's column has an index on (column, at).
    private static func window(_ db: any SQLDatabase, column: String, value: String, since: Date, counting: Bool) async throws -> (count: Int, oldest: Date?) {
        guard counting else { return (0, nil) }
        guard let row = try await db.raw("""
            SELECT COUNT(*) AS n, MIN(at) AS oldest FROM sends
            WHERE \(unsafeRaw: column) = \(bind: value) AND at > \(bind: SQLTime.micros(since))
            """).first() else { return (0, nil) }
        let count = Int(try row.decode(column: "n", as: Int64.self))
        let oldest = try row.decode(column: "oldest", as: Int64?.self).map(SQLTime.date)
        return (count, oldest)
    }
}
