import Hummingbird
import NIOCore
import Verification

/// Request context of the core's HTTP API: the peer address (per-IP limits) and the API key that
/// authenticated the request. Bodies are limited to 64 KiB.
public struct CoreRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The peer's address, the key of the per-IP limits.
    public var remoteAddress: SocketAddress?
    /// Id of the API key, set by `APIKeyMiddleware`.
    public var apiKeyID: String?

    /// Makes the context of a request arriving on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// 64 KiB: the largest request body read.
    public var maxUploadSize: Int { 64 * 1024 }

    /// What the request may act on: the verifications of its API key (none without one).
    var access: VerificationAccess { .apiKey(apiKeyID ?? "") }

    /// The client IP for rate limits ("unknown" when the transport gives none).
    var clientIP: String { remoteAddress?.ipAddress ?? "unknown" }
}
