import Foundation

// The limits on what is sent to phones (issue 12 items 3 and 4; README "Security"): the per-number
// limit, the per-prefix and per-channel hourly guards against SMS pumping and toll fraud, and the
// line types each channel may reach. The store checks the counting ones and records the send in
// one write (`VerificationStore.reserveSend`), so they hold under concurrency and across nodes.

/// One send about to be made, as the store records it in `sends`.
public struct SendReservation: Sendable, Equatable {
    /// The verification the send is for.
    public var verificationID: String
    /// E.164 number the code goes to.
    public var to: String
    /// The channel it goes by.
    public var channel: VerificationMethod
    /// Country code and the first national digits (`PhoneNumber.prefix(length:)`), the per-prefix guard's key.
    public var prefix: String
    /// When it is made.
    public var at: Date

    /// Makes a reservation.
    public init(verificationID: String, to: String, channel: VerificationMethod, prefix: String, at: Date) {
        self.verificationID = verificationID
        self.to = to
        self.channel = channel
        self.prefix = prefix
        self.at = at
    }
}

/// The counting limits a reservation must pass; a limit of 0 is off (the per-number one is always on).
public struct SendGuards: Sendable, Equatable {
    /// Most sends to one number per `numberWindow` seconds (`VerificationLimits.maxSendsPerNumber`).
    public var maxPerNumber: Int
    /// Window of the per-number guard, seconds.
    public var numberWindow: Double
    /// Most sends to one number prefix per `guardWindow`; 0 = off.
    public var maxPerPrefix: Int
    /// Most sends on the reservation's channel per `guardWindow`, all numbers together; 0 = off.
    public var maxPerChannel: Int
    /// Window of the prefix and channel guards (seconds): one hour.
    public var guardWindow: Double

    /// Makes guards; 0 turns the prefix or channel guard off.
    public init(maxPerNumber: Int, numberWindow: Double, maxPerPrefix: Int = 0, maxPerChannel: Int = 0, guardWindow: Double = 3_600) {
        self.maxPerNumber = maxPerNumber
        self.numberWindow = numberWindow
        self.maxPerPrefix = maxPerPrefix
        self.maxPerChannel = maxPerChannel
        self.guardWindow = guardWindow
    }

    /// The guard that refuses one more send, given the sends already in each window (oldest first
    /// instants), with the seconds until the oldest of them leaves its window; nil when allowed.
    /// The store calls it with what it counted inside its write transaction.
    public func refusal(
        now: Date, number: (count: Int, oldest: Date?), prefix: (count: Int, oldest: Date?), channel: (count: Int, oldest: Date?)
    ) -> (limit: VerificationError.RateLimit, retryAfter: Double)? {
        func wait(_ oldest: Date?, _ window: Double) -> Double {
            Swift.max(1, (oldest ?? now).addingTimeInterval(window).timeIntervalSince(now))
        }
        if number.count >= maxPerNumber { return (.sendsPerNumber, wait(number.oldest, numberWindow)) }
        if maxPerPrefix > 0, prefix.count >= maxPerPrefix { return (.sendsPerPrefix, wait(prefix.oldest, guardWindow)) }
        if maxPerChannel > 0, channel.count >= maxPerChannel { return (.sendsPerChannel, wait(channel.oldest, guardWindow)) }
        return nil
    }
}

/// What `VerificationStore.reserveSend` writes with the send: a new verification, or a versioned update.
public enum SendWrite: Sendable, Equatable {
    /// Insert (like `insert`): a conflict when a verification with its id exists.
    case insert(Verification)
    /// Update (like `update`): a conflict when the stored version is not `version - 1`.
    case update(Verification)

    /// The verification the write stores.
    public var verification: Verification {
        switch self {
        case .insert(let v), .update(let v): v
        }
    }
}

/// What came of a reservation.
public enum SendReservationOutcome: Sendable, Equatable {
    /// The send is recorded and the verification written: deliver now.
    case reserved
    /// Another writer got there first (version conflict, or the id exists); nothing was written.
    case conflict
    /// A guard refused; nothing was written.
    case refused(VerificationError.RateLimit, retryAfter: Double)
}

/// A send a guard refused, for the logs and `/metrics` (`VerificationEventSink.sendRefused`).
/// Carries the number's prefix, never the whole number.
public struct SendRefusal: Sendable, Equatable {
    /// The guard that refused.
    public var limit: VerificationError.RateLimit
    /// The channel of the refused send.
    public var channel: VerificationMethod
    /// Country code and first national digits of the number (never the whole number).
    public var prefix: String
    /// The verification whose send was refused.
    public var verificationID: String
    /// Seconds until the guard lets a send through again.
    public var retryAfter: Double

    /// Makes a refusal.
    public init(limit: VerificationError.RateLimit, channel: VerificationMethod, prefix: String, verificationID: String, retryAfter: Double) {
        self.limit = limit
        self.channel = channel
        self.prefix = prefix
        self.verificationID = verificationID
        self.retryAfter = retryAfter
    }
}

extension PhoneNumber {
    /// "+" + country code + the first `length` digits of the national significant number
    /// ("+886975000888", 4 → "+8869750"): the key of the per-prefix guard. A number shorter
    /// than that is its own prefix.
    public func prefix(length: Int) -> String {
        String(e164.prefix(1 + String(countryCode).count + Swift.max(0, length)))
    }
}

extension PhoneNumber.LineType {
    /// The flag's spelling of a line type: the libphonenumber name in lower case ("fixed_line_or_mobile").
    public var flagName: String { rawValue.lowercased() }

    /// The line types `sms`, `voice_call` and `dtmf_callout` reach by default: mobile and fixed lines.
    /// Premium-rate, shared-cost, UAN, toll-free, voicemail, pager, VoIP, personal and unknown
    /// numbers cost more, reach no person or cannot be told apart; an operator allows them per channel.
    public static let defaultAllowed: Set<PhoneNumber.LineType> = [.mobile, .fixedLine, .fixedLineOrMobile]
}

extension VerificationPolicy {
    /// Whether `channel` may be used for a number of line type `type`: outgoing channels allow
    /// `allowedLineTypes[channel]` (default `LineType.defaultAllowed`); call-in channels allow every
    /// type unless configured (the caller pays the call, and the number is the caller's own).
    public func allows(_ type: PhoneNumber.LineType, for channel: VerificationMethod) -> Bool {
        if let allowed = allowedLineTypes[channel] { return allowed.contains(type) }
        return channel.isCallIn || PhoneNumber.LineType.defaultAllowed.contains(type)
    }

    /// Parses `sms=mobile,fixed_line_or_mobile;voice_call=mobile,fixed_line` (the `--line-types` form;
    /// `any` allows every type). Channels not named keep their default.
    public static func parseLineTypes(_ text: String) throws(ConfigurationProblem) -> [VerificationMethod: Set<PhoneNumber.LineType>] {
        let all = PhoneNumber.LineType.allCases
        var out: [VerificationMethod: Set<PhoneNumber.LineType>] = [:]
        for entry in text.split(separator: ";") where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let channel = VerificationMethod(rawValue: parts[0]) else {
                throw ConfigurationProblem("line types: \(entry) must be channel=type,type (channels: \(VerificationMethod.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard out[channel] == nil else { throw ConfigurationProblem("line types: \(channel.rawValue) is listed twice") }
            var types = Set<PhoneNumber.LineType>()
            for name in parts[1].split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
                if name == "any" {
                    types.formUnion(all)
                } else if let type = all.first(where: { $0.flagName == name }) {
                    types.insert(type)
                } else {
                    throw ConfigurationProblem("line types: \(name) is not any or one of \(all.map(\.flagName).joined(separator: ", "))")
                }
            }
            guard !types.isEmpty else { throw ConfigurationProblem("line types: \(channel.rawValue) lists no type") }
            out[channel] = types
        }
        return out
    }

    /// Parses the per-channel hourly budgets: `1000` (every sending channel) or
    /// `sms=1000;voice_call=200` (channels not named keep their default); 0 turns a budget off.
    public static func parseChannelBudgets(_ text: String, defaults: [VerificationMethod: Int]) throws(ConfigurationProblem) -> [VerificationMethod: Int] {
        var out = defaults
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let all = Int(trimmed) {
            guard all >= 0 else { throw ConfigurationProblem("channel budget: \(trimmed) must be 0 or more") }
            for channel in VerificationMethod.allCases where !channel.isCallIn { out[channel] = all }
            return out
        }
        for entry in trimmed.split(separator: ";") where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let channel = VerificationMethod(rawValue: parts[0]), !channel.isCallIn else {
                throw ConfigurationProblem("channel budget: \(entry) must be sms, voice_call or dtmf_callout = sends per hour")
            }
            guard let n = Int(parts[1]), n >= 0 else { throw ConfigurationProblem("channel budget: \(parts[1]) is not a count of 0 or more") }
            out[channel] = n
        }
        return out
    }
}
