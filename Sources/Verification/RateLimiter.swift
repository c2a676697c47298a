import Foundation

/// A token bucket per key (RFC 6585 §4 "429 Too Many Requests" is what the caller answers).
/// A pure value: time is an input. Used for the per-API-key and per-client-IP limits.
public struct RateLimiter: Sendable {
    private struct Bucket: Sendable {
        var tokens: Double
        var updated: Date
    }

    /// Requests allowed per `period`; 0 means unlimited.
    public let limit: Int
    /// Period in seconds.
    public let period: Double
    /// Most keys tracked; the least recently used are forgotten beyond it (memory bound).
    public let maxKeys: Int
    private var buckets: [String: Bucket] = [:]

    /// A limiter allowing `limit` requests per `period` seconds per key, tracking at most `maxKeys` keys.
    public init(limit: Int, period: Double = 60, maxKeys: Int = 100_000) {
        self.limit = limit
        self.period = period
        self.maxKeys = maxKeys
    }

    /// Takes one token for `key` at `now`: nil when allowed, else seconds until a token is free.
    public mutating func acquire(_ key: String, now: Date) -> Double? {
        guard limit > 0 else { return nil }
        let rate = Double(limit) / period
        var bucket = buckets[key] ?? Bucket(tokens: Double(limit), updated: now)
        let elapsed = max(0, now.timeIntervalSince(bucket.updated))
        bucket.tokens = min(Double(limit), bucket.tokens + elapsed * rate)
        bucket.updated = now
        defer {
            if buckets.count >= maxKeys, buckets[key] == nil { evict(now: now) }
            buckets[key] = bucket
        }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return nil
        }
        return (1 - bucket.tokens) / rate
    }

    /// Drops buckets that are full again (they carry no information); if none, the oldest.
    private mutating func evict(now: Date) {
        let full = buckets.filter { now.timeIntervalSince($0.value.updated) >= period }.map(\.key)
        if full.isEmpty, let oldest = buckets.min(by: { $0.value.updated < $1.value.updated })?.key {
            buckets[oldest] = nil
        } else {
            for k in full { buckets[k] = nil }
        }
    }
}
