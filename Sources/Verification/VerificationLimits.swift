/// Every limit of the verification flow; each is configurable (flags and `VERIGATE_*` variables).
public struct VerificationLimits: Sendable, Equatable {
    /// How long a code stays valid (seconds). Default 10 min.
    public var expiry: Double = 600
    /// Wrong checks before `max_attempts_reached`. Default 5.
    public var maxCheckAttempts: Int = 5
    /// Least time between two sends of one verification (seconds). Default 30 s.
    public var resendInterval: Double = 30
    /// Most sends (any channel) to one number per `sendWindow`. Default 5.
    public var maxSendsPerNumber: Int = 5
    /// Window of `maxSendsPerNumber` (seconds). Default 10 min.
    public var sendWindow: Double = 600
    /// Requests per minute per API key (0 = unlimited).
    public var perAPIKeyPerMinute: Int = 600
    /// Verification starts per minute per client IP (0 = unlimited).
    public var perClientIPPerMinute: Int = 60
    /// Default code length (4–10).
    public var codeLength: Int = 6
    /// ISO regions whose numbers may be verified; empty means only the default region.
    public var allowedRegions: Set<String> = []
    /// Outgoing calls (voice_call, dtmf_callout) per verification at most, the first included: a
    /// busy, unanswered or failed call is placed again until this many were placed. Default 2.
    public var maxCalls: Int = 2
    /// Wait before calling again after a busy, unanswered or failed call (seconds). Default 30 s.
    public var callRetryDelay: Double = 30

    public init() {}
}
