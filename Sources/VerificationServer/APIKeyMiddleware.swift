import Foundation
import Hummingbird
import Synchronization
import Verification

/// Bearer-token authentication (RFC 6750 §2.1) with the API keys of the store, and the
/// per-API-key rate limit.
///
/// Keys found valid are cached for `cacheTTL` seconds (`APIKeys.cacheTTL`, README "Security"), then looked up again: a key revoked with
/// `verigate api-key revoke` (on any node, or by the CLI beside them) is refused by every node
/// within `cacheTTL`, with no message between nodes. A lookup on every request would make
/// revocation immediate but costs a store round trip (a pooled PostgreSQL connection) per API
/// call; with the cache that is one lookup per key per node every `cacheTTL`. Unknown and revoked
/// tokens are never cached, so they cannot fill the cache.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = CoreRequestContext
    let keys: APIKeys
    let state: State
    let clock: any VerificationClock
    let cacheTTL: Double

    /// Key cache and limiter, shared by every copy of the middleware.
    final class State: Sendable {
        /// A valid key's id by its SHA-256, and when the store last said it was valid.
        let cache = Mutex<[[UInt8]: (id: String, checkedAt: Date)]>([:])
        let limiter: SharedRateLimiter
        init(limiter: SharedRateLimiter) { self.limiter = limiter }
    }

    /// Authenticates against the keys of `store`; each key's requests are limited by `limiter`.
    init(store: any APIKeyStore, limiter: SharedRateLimiter, clock: any VerificationClock, cacheTTL: Double = APIKeys.cacheTTL) {
        self.keys = APIKeys(store: store, clock: clock)
        self.state = State(limiter: limiter)
        self.clock = clock
        self.cacheTTL = cacheTTL
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = request.bearerToken else {
            throw unauthorized("A valid API key is required (Authorization: Bearer …).")
        }
        let now = clock.now()
        guard let keyID = try await validKeyID(token, now: now) else { throw unauthorized("The API key is not valid.") }
        if let wait = await state.limiter.acquire(keyID, now: now) {
            throw VerificationError.rateLimited(limit: .apiKey, retryAfter: wait)
        }
        var context = context
        context.apiKeyID = keyID
        return try await next(request, context)
    }

    /// The id of the valid key `token`: from the cache while its entry is younger than `cacheTTL`,
    /// else from the store (which refreshes or drops the entry).
    private func validKeyID(_ token: String, now: Date) async throws -> String? {
        let digest = Secrets.sha256(token)
        if let cached = state.cache.withLock({ $0[digest] }), cached.checkedAt <= now, now.timeIntervalSince(cached.checkedAt) < cacheTTL {
            return cached.id
        }
        guard let record = try await keys.authenticate(token) else {
            state.cache.withLock { _ = $0.removeValue(forKey: digest) }
            return nil
        }
        state.cache.withLock { $0[digest] = (record.id, now) }
        return record.id
    }

    private func unauthorized(_ detail: String) -> Problem {
        Problem(status: .unauthorized, code: "unauthorized", detail: detail)
    }
}

extension Request {
    /// The token of `Authorization: Bearer <token>` (`APIKeyMiddleware.bearerToken(in:)`).
    var bearerToken: String? {
        headers[.authorization].flatMap(APIKeyMiddleware.bearerToken(in:))
    }
}

extension APIKeyMiddleware {
    /// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1; the scheme in any
    /// case, the token without the spaces and tabs around it, RFC 9110 §5.6.3 OWS); nil for
    /// another scheme. Read as UTF-8 bytes: it runs on every API request, where `lowercased()` and
    /// `trimmingCharacters(in:)` took ≈ 3 % of a check.
    static func bearerToken(in header: String) -> String? {
        let bytes = header.utf8
        let lower = { (byte: UInt8) in (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte }
        guard bytes.count > 7, zip(bytes.prefix(7), "bearer ".utf8).allSatisfy({ lower($0) == $1 }) else { return nil }
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let token = bytes.dropFirst(7).drop(while: isSpace)
        guard let last = token.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(Substring(token[...last]))
    }
}
