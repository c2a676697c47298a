import Foundation
import SQLKit

// Request limits shared by the nodes of one database (SharedRateLimitStore, migration 7).
//
// Each bucket is one row holding its GCRA "theoretical arrival time" (ITU-T I.371's generic cell
// rate algorithm): with emission interval T = period / limit and tolerance τ = period − T, a
// request at `now` is allowed when tat ≤ now + τ, and then tat becomes max(tat, now) + T. That
// admits `limit` requests at once and one more every T, the same as the in-memory token bucket
// (`RateLimiter`) with `limit` tokens refilled at limit/period — but as one integer per bucket it
// is a single conditional upsert, atomic on PostgreSQL (the conflicting row is locked and the
// WHERE re-read under it) and on SQLite (one writer), so concurrent requests on several nodes
// never both take the last slot.
extension SQLVerificationStore: SharedRateLimitStore {
    /// `SharedRateLimitStore.acquireRateLimit(bucket:limit:period:now:)`, in SQL.
    public func acquireRateLimit(bucket: String, limit: Int, period: Double, now: Date) async throws -> Double? {
        guard limit > 0 else { return nil }
        let periodMicros = max(1, Int64((period * 1_000_000).rounded()))
        let interval = max(1, periodMicros / Int64(limit))
        let nowMicros = SQLTime.micros(now)
        let latestAllowed = nowMicros + periodMicros - interval
        return try await writer.withDatabase { [backend] db in
            let taken = try await db.raw("""
                INSERT INTO rate_limits (bucket, tat) VALUES (\(bind: bucket), \(bind: nowMicros + interval))
                ON CONFLICT (bucket) DO UPDATE SET tat = \(unsafeRaw: backend.greatest)(rate_limits.tat, \(bind: nowMicros)) + \(bind: interval)
                WHERE rate_limits.tat <= \(bind: latestAllowed)
                RETURNING tat
                """).all()
            guard taken.isEmpty else { return nil }
            let row = try await db.raw("SELECT tat FROM rate_limits WHERE bucket = \(bind: bucket)").first()
            // The row may have been purged in between: then the next request is allowed.
            let tat = try row?.decode(column: "tat", as: Int64.self) ?? latestAllowed
            return max(0.001, Double(tat - latestAllowed) / 1_000_000)
        }
    }

    /// `SharedRateLimitStore.purgeRateLimits(now:)`, in SQL.
    public func purgeRateLimits(now: Date) async throws {
        try await writer.withDatabase { db in
            try await db.raw("DELETE FROM rate_limits WHERE tat <= \(bind: SQLTime.micros(now))").run()
        }
    }
}
