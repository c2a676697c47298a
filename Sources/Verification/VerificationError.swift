/// Errors of the verification domain. `code` is stable and becomes the `code` member of the
/// RFC 9457 problem document the API returns.
public enum VerificationError: Error, Sendable, Equatable {
    case invalidNumber(reason: String)
    case countryNotAllowed(region: String)
    case channelDisabled(VerificationMethod)
    case cannotReceiveSMS
    /// The number's line type (libphonenumber's) is not allowed for the channel (`--line-types`).
    case numberTypeNotAllowed(PhoneNumber.LineType, VerificationMethod)
    case invalidRequest(String)
    case rateLimited(limit: RateLimit, retryAfter: Double)
    case notFound
    case expired
    case maxAttemptsReached
    case notPending(VerificationStatus)
    case noGateway
    case deliveryFailed(reason: String, verificationID: String)
    case wrongChannel(VerificationMethod)
    /// Every system number of the pool is held for another verification of this caller (a
    /// call-in number is shown for one verification of a caller at a time); retry after this many seconds.
    case noSystemNumber(retryAfter: Double)
    /// The verification (or the caller's system-number hold) kept changing under this request:
    /// every optimistic write lost the version to a concurrent one. Nothing was changed by it;
    /// the request may be repeated.
    case conflict

    /// Which limit refused a request.
    public enum RateLimit: String, Sendable, Equatable {
        case resendInterval = "resend_interval"
        case sendsPerNumber = "sends_per_number"
        /// The hourly guard on sends to one number prefix (SMS pumping over a number range).
        case sendsPerPrefix = "sends_per_prefix"
        /// The hourly budget of sends on one channel, all numbers together.
        case sendsPerChannel = "sends_per_channel"
        case apiKey = "api_key"
        case clientIP = "client_ip"
    }

    /// The stable machine-readable code.
    public var code: String {
        switch self {
        case .invalidNumber: "invalid_number"
        case .countryNotAllowed: "country_not_allowed"
        case .channelDisabled: "channel_disabled"
        case .cannotReceiveSMS: "number_cannot_receive_sms"
        case .numberTypeNotAllowed: "number_type_not_allowed"
        case .invalidRequest: "invalid_request"
        case .rateLimited: "rate_limited"
        case .notFound: "not_found"
        case .expired: "expired"
        case .maxAttemptsReached: "max_attempts_reached"
        case .notPending: "not_pending"
        case .noGateway: "no_gateway"
        case .deliveryFailed: "delivery_failed"
        case .wrongChannel: "wrong_channel"
        case .noSystemNumber: "no_system_number"
        case .conflict: "conflict"
        }
    }

    /// Whole seconds to wait, at least 1, for the refusals that say when to try again (the
    /// `Retry-After` of RFC 9110 §10.2.3); nil for the others.
    public var retryAfterSeconds: Int? {
        switch self {
        case .rateLimited(_, let after), .noSystemNumber(let after): Swift.max(1, Int(after.rounded(.up)))
        case .invalidNumber, .countryNotAllowed, .channelDisabled, .cannotReceiveSMS, .numberTypeNotAllowed, .invalidRequest,
             .notFound, .expired, .maxAttemptsReached, .notPending, .noGateway, .deliveryFailed, .wrongChannel, .conflict: nil
        }
    }

    /// A sentence for people.
    public var detail: String {
        switch self {
        case .invalidNumber(let reason): "The phone number is not valid: \(reason)."
        case .countryNotAllowed(let region): "Numbers of region \(region) are not allowed on this server."
        case .channelDisabled(let c): "The channel \(c.rawValue) is not enabled on this server."
        case .cannotReceiveSMS: "This number cannot receive SMS (it is not a mobile number)."
        case .numberTypeNotAllowed(let type, let c): "Numbers of type \(type.flagName) are not allowed for \(c.rawValue) on this server."
        case .invalidRequest(let why): why
        case .rateLimited(let limit, let after):
            "Too many requests (\(limit.rawValue) limit); retry in \(Int(after.rounded(.up))) s."
        case .notFound: "No verification with this id."
        case .expired: "The verification has expired."
        case .maxAttemptsReached: "Too many wrong codes; start a new verification."
        case .notPending(let s): "The verification is \(s.rawValue) and can no longer change."
        case .noGateway: "No voice gateway is connected; voice channels are unavailable."
        case .deliveryFailed(let reason, _): "The code could not be delivered: \(reason)."
        case .wrongChannel(let c): "The \(c.rawValue) channel is not checked with a typed code."
        case .noSystemNumber(let after):
            "No system number is free for this number now; retry in \(Int(after.rounded(.up))) s."
        case .conflict: "The verification was changed by concurrent requests meanwhile; nothing was done, repeat the request."
        }
    }
}
