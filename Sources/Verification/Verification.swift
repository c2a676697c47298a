import ABNF
import Foundation

/// One verification of one phone number over one channel. Codes are never kept in plain text:
/// `codeMAC` holds HMAC-SHA256(secret, id ‖ code) (see `CodeHasher`).
public struct Verification: Sendable, Equatable, Codable {
    /// "VE" + 32 hex digits: the creation time, then 80 bits from the CSPRNG (`makeID`).
    public var id: String
    /// E.164 number being verified.
    public var to: String
    /// ISO region of `to`.
    public var region: String
    /// How the code is delivered or the number proven.
    public var channel: VerificationMethod
    /// Where the verification stands.
    public var status: VerificationStatus
    /// BCP 47 locale of messages and prompts ("en", "zh-TW").
    public var locale: String
    /// Digits in the code (or keys a dtmf channel asks for).
    public var codeLength: Int
    /// MAC of the current code; nil where no code was issued yet (missed call, call-in before the call).
    public var codeMAC: [UInt8]?
    /// When it was started.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
    /// After this it can no longer be approved.
    public var expiresAt: Date
    /// When a code was last sent or a call last placed; nil before the first.
    public var lastSentAt: Date?
    /// How many times the code was sent (or the call placed).
    public var sendCount: Int
    /// Wrong codes checked so far.
    public var checkAttempts: Int
    /// For call-in channels: the system number the user must call (E.164); part of the match.
    public var systemNumber: String?
    /// Where status changes are POSTed (signed webhooks).
    public var callbackURL: String?
    /// The API key that started it (its id, never the key).
    public var apiKeyID: String?
    /// Why the verification failed, when `status == .failed`.
    public var failureReason: String?
    /// Optimistic-concurrency version: every stored update increments it.
    public var version: Int

    /// Makes a verification as the service stores it.
    public init(
        id: String, to: String, region: String, channel: VerificationMethod, status: VerificationStatus = .pending,
        locale: String, codeLength: Int, codeMAC: [UInt8]?, createdAt: Date, expiresAt: Date,
        lastSentAt: Date? = nil, sendCount: Int = 0, checkAttempts: Int = 0, systemNumber: String? = nil,
        callbackURL: String? = nil, apiKeyID: String? = nil, failureReason: String? = nil, version: Int = 1
    ) {
        self.id = id
        self.to = to
        self.region = region
        self.channel = channel
        self.status = status
        self.locale = locale
        self.codeLength = codeLength
        self.codeMAC = codeMAC
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.expiresAt = expiresAt
        self.lastSentAt = lastSentAt
        self.sendCount = sendCount
        self.checkAttempts = checkAttempts
        self.systemNumber = systemNumber
        self.callbackURL = callbackURL
        self.apiKeyID = apiKeyID
        self.failureReason = failureReason
        self.version = version
    }

    /// A new verification id for one created at `now`: "VE", the Unix time in milliseconds as 12
    /// hex digits (48 bits, as UUIDv7's `unix_ts_ms`, RFC 9562 §5.7), then 20 hex digits (80 bits)
    /// from the CSPRNG. Ids made later sort after (within a millisecond, at random), so the B-tree
    /// entries keyed on them (the verifications' primary key, the audit trail's index) are appended
    /// where the recent ones are, not scattered over the whole history: a check, which comes
    /// shortly after its start, writes and reads the same few pages as the other recent ones
    /// (docs/ARCHITECTURE.md, "Storage"). 80 random bits a millisecond keep an id unguessable.
    public static func makeID(random: any RandomSource, now: Date) -> String {
        let milliseconds = UInt64(max(0, (now.timeIntervalSince1970 * 1_000).rounded(.down))) & 0xFFFF_FFFF_FFFF
        let time = (0..<6).reversed().map { UInt8(truncatingIfNeeded: milliseconds >> ($0 * 8)) }
        return "VE" + (time + random.bytes(10)).hexEncoded
    }

    /// Whether `id` has the form `makeID` gives every verification: "VE" and 32 lowercase hex
    /// digits. Any other id names no stored verification, so it needs no store trip to be refused.
    public static func isWellFormedID(_ id: String) -> Bool {
        id.utf8.count == 34 && id.hasPrefix("VE") && id.dropFirst(2).isLowercaseHex
    }
}

/// Something that happened to a verification: the audit trail, the SSE stream and the webhooks
/// are made of these. Never carries a code or a secret.
public struct VerificationEvent: Sendable, Equatable, Codable {
    /// What happened.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case created, resent, sent, checkFailed = "check_failed", approved, canceled, expired
        case maxAttemptsReached = "max_attempts_reached", failed
        case callerIDMatched = "caller_id_matched", callProgress = "call_progress"
        /// An SMS gateway reported on a sent message (`detail` says what); see `DeliveryReport`.
        case deliveryReport = "delivery_report"
        /// Delivery on one channel failed and the next channel of the start request was tried.
        case channelFallback = "channel_fallback"
    }

    /// The verification the event belongs to.
    public var verificationID: String
    /// What happened.
    public var kind: Kind
    /// Status after the event.
    public var status: VerificationStatus
    /// When it happened.
    public var at: Date
    /// Free text for operators (e.g. failure reason, call progress); never a code.
    public var detail: String?

    /// Makes an event.
    public init(verificationID: String, kind: Kind, status: VerificationStatus, at: Date, detail: String? = nil) {
        self.verificationID = verificationID
        self.kind = kind
        self.status = status
        self.at = at
        self.detail = detail
    }

    /// The event changes the status (and so is sent to the web page and the webhook).
    public var changesStatus: Bool {
        switch kind {
        case .created, .approved, .canceled, .expired, .maxAttemptsReached, .failed: true
        case .resent, .sent, .checkFailed, .callerIDMatched, .callProgress, .deliveryReport, .channelFallback: false
        }
    }
}
