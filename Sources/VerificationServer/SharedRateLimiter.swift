import Foundation
import Logging
import Synchronization
import Verification

/// Request limits kept where every node of a deployment sees them: the store they share
/// (PostgreSQL; README "Several core nodes"). `SQLVerificationStore` implements it.
public protocol SharedRateLimitStore: Sendable {
    /// Takes one of `limit` requests per `period` seconds for `bucket` at `now`, atomically across
    /// every node: nil when allowed, else the seconds until a request will be.
    func acquireRateLimit(bucket: String, limit: Int, period: Double, now: Date) async throws -> Double?
    /// Forgets the buckets that are full again at `now` (they carry nothing).
    func purgeRateLimits(now: Date) async throws
}

/// A request limit (the per-client-IP start limit of the API and the page, the page's demo limit,
/// the per-API-key limit) shared by concurrent request handlers and, given a `SharedRateLimitStore`,
/// by every node of the deployment.
///
/// Each request first takes a token of this node's in-memory `RateLimiter`: a flood aimed at one
/// node is refused there without a store round trip. Then, with a shared store, it takes one from
/// the deployment's bucket, so N nodes behind a load balancer allow `limit` per period in all, not
/// N × `limit`. When the store cannot be reached the node's own limit stands alone (logged): the
/// request would fail on the store anyway, and an outage must not turn into refusing everyone.
final class SharedRateLimiter: Sendable {
    /// Names this limit's buckets in the shared store (`ip`, `key`, `demo`).
    let scope: String
    /// Requests allowed per `period` seconds and key; 0 means unlimited.
    let limit: Int
    let period: Double
    private let local: Mutex<RateLimiter>
    private let shared: (any SharedRateLimitStore)?
    private let logger: Logger?

    /// `limit` requests per `period` seconds and key; 0 means unlimited. With `shared`, the limit
    /// holds across the nodes that share that store.
    init(scope: String, limit: Int, period: Double, shared: (any SharedRateLimitStore)? = nil, logger: Logger? = nil) {
        (self.scope, self.limit, self.period) = (scope, limit, period)
        local = Mutex(RateLimiter(limit: limit, period: period))
        self.shared = shared
        self.logger = logger
    }

    /// Takes one request for `key` at `now`: nil when allowed, else seconds until one will be.
    func acquire(_ key: String, now: Date) async -> Double? {
        if let wait = local.withLock({ $0.acquire(key, now: now) }) { return wait }
        guard let shared, limit > 0 else { return nil }
        do {
            return try await shared.acquireRateLimit(bucket: "\(scope):\(key)", limit: limit, period: period, now: now)
        } catch {
            logger?.warning("ratelimit.store_failed", metadata: ["scope": "\(scope)", "error": "\(error)"])
            return nil
        }
    }
}
