import Foundation
import Synchronization
import Verification

/// A `RateLimiter` shared by concurrent request handlers (the per-client-IP start limit of the
/// API and the page, the page's demo limit, the per-API-key limit): the value behind a lock.
final class SharedRateLimiter: Sendable {
    private let limiter: Mutex<RateLimiter>

    /// `limit` requests per `period` seconds and key; 0 means unlimited.
    init(limit: Int, period: Double) {
        limiter = Mutex(RateLimiter(limit: limit, period: period))
    }

    /// Takes one token for `key` at `now`: nil when allowed, else seconds until one is free.
    func acquire(_ key: String, now: Date) -> Double? {
        limiter.withLock { $0.acquire(key, now: now) }
    }
}
