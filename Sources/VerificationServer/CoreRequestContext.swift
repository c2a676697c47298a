import Hummingbird
import NIOCore
import Verification

/// Request context of the core's HTTP API: the peer address (per-IP limits) and the API key that
/// authenticated the request. Bodies are limited to 64 KiB.
public struct CoreRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var remoteAddress: SocketAddress?
    /// Id of the API key, set by `APIKeyMiddleware`.
    public var apiKeyID: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { 64 * 1024 }

    /// What the request may act on: the verifications of its API key (none without one).
    var access: VerificationAccess { .apiKey(apiKeyID ?? "") }

    /// The client IP for rate limits ("unknown" when the transport gives none).
    var clientIP: String { remoteAddress?.ipAddress ?? "unknown" }
}
