import Foundation
import Hummingbird
import Synchronization
import Verification

/// Bearer-token authentication (RFC 6750 §2.1) with the API keys of the store, and the
/// per-API-key rate limit. Keys are looked up by SHA-256 and cached.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = CoreRequestContext
    let store: any VerificationStore
    let state: State
    let clock: any VerificationClock

    /// Key cache and limiter, shared by every copy of the middleware.
    final class State: Sendable {
        let cache = Mutex<[[UInt8]: String]>([:])
        let limiter: Mutex<RateLimiter>
        init(perMinute: Int) { limiter = Mutex(RateLimiter(limit: perMinute, period: 60)) }
    }

    init(store: any VerificationStore, perMinute: Int, clock: any VerificationClock) {
        self.store = store
        self.state = State(perMinute: perMinute)
        self.clock = clock
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key = request.bearerToken else {
            throw unauthorized("A valid API key is required (Authorization: Bearer …).")
        }
        let digest = Secrets.sha256(key)
        var keyID = state.cache.withLock { $0[digest] }
        if keyID == nil, let record = try await store.apiKey(sha256: digest) {
            keyID = record.id
            state.cache.withLock { $0[digest] = record.id }
        }
        guard let keyID else { throw unauthorized("The API key is not valid.") }
        if let wait = state.limiter.withLock({ $0.acquire(keyID, now: clock.now()) }) {
            throw VerificationError.rateLimited(limit: .apiKey, retryAfter: wait)
        }
        var context = context
        context.apiKeyID = keyID
        return try await next(request, context)
    }

    private func unauthorized(_ detail: String) -> Problem {
        Problem(status: .unauthorized, code: "unauthorized", detail: detail)
    }
}

extension Request {
    /// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme in any case).
    var bearerToken: String? {
        guard let header = headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }
}
