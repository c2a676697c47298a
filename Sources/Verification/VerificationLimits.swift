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
    /// Digits of the national number after the country code that make a number's prefix for
    /// `maxSendsPerPrefix` (`PhoneNumber.prefix(length:)`). Default 6: a block of 1,000 (TW
    /// mobile) to 10,000 (NANP) numbers, the ranges SMS-pumping runs walk through.
    public var prefixLength: Int = 6
    /// Most sends (any channel) to numbers of one prefix per hour, all numbers together; 0 = off.
    /// Default 50: far above what real users of one block ask for, far below a pumping run.
    public var maxSendsPerPrefix: Int = 50
    /// Most sends per hour on each sending channel, all numbers together (a missing or 0 entry is
    /// off). Defaults: 1,000 SMS and 500 of each call channel an hour: a bound on what a pumping run
    /// spread over many prefixes can cost, above a normal deployment's peak.
    public var maxSendsPerChannel: [VerificationMethod: Int] = VerificationLimits.defaultChannelBudgets
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

    /// The default hourly budgets of `maxSendsPerChannel`.
    public static let defaultChannelBudgets: [VerificationMethod: Int] = [.sms: 1_000, .voiceCall: 500, .dtmfCallOut: 500]

    /// The counting limits a send on `channel` must pass (`VerificationStore.reserveSend`).
    public func sendGuards(for channel: VerificationMethod) -> SendGuards {
        SendGuards(maxPerNumber: maxSendsPerNumber, numberWindow: sendWindow, maxPerPrefix: maxSendsPerPrefix,
                   maxPerChannel: maxSendsPerChannel[channel] ?? 0, guardWindow: 3_600)
    }

    /// The defaults (README.md "Configuration").
    public init() {}
}
