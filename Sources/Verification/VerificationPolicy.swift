/// What the operator configured for the verification flows.
public struct VerificationPolicy: Sendable, Equatable {
    /// ISO region for numbers typed without a country code ("TW").
    public var defaultRegion: String
    /// Code lengths, lifetimes, attempts and send limits.
    public var limits: VerificationLimits
    /// Channels this server offers.
    public var enabledChannels: Set<VerificationMethod>
    /// System numbers (E.164) users call for the call-in channels; verifications spread over them.
    public var systemNumbers: [String]
    /// Locale when the request names none.
    public var defaultLocale: String
    /// Locales with messages and prompts.
    public var supportedLocales: [String]
    /// Caller-ID trust levels each call-in channel accepts; a channel not listed accepts asserted
    /// only (RFC 3325: a spoofable From header must not prove a number). Operators whose trunk sends
    /// no P-Asserted-Identity may accept `unverified` for a method knowingly; `verified` asks for the
    /// carrier's verstat TN-Validation-Passed on top of asserted (`CarrierValidation`).
    public var acceptedCallerIDTrust: [VerificationMethod: Set<CallerIDTrust>] = [:]
    /// Line types each channel may reach (`--line-types`); a channel not listed keeps its default
    /// (see `allows(_:for:)`): mobile and fixed lines for the outgoing channels, any for call-in.
    public var allowedLineTypes: [VerificationMethod: Set<PhoneNumber.LineType>] = [:]

    /// Whether `channel` accepts caller ID learned as `trust` (withheld never proves a number). A
    /// `verified` caller ID is an asserted one the carrier validated too: accepted where `verified`
    /// or `asserted` is; `missed_call=verified` refuses an asserted one without the carrier's Passed.
    public func accepts(_ trust: CallerIDTrust, for channel: VerificationMethod) -> Bool {
        guard trust != .withheld else { return false }
        let accepted = acceptedCallerIDTrust[channel] ?? [.asserted]
        return accepted.contains(trust) || (trust == .verified && accepted.contains(.asserted))
    }

    /// Parses `missed_call=verified;dtmf_callin=asserted,unverified` (the `--caller-id-trust` form).
    public static func parseCallerIDTrust(_ text: String) throws(ConfigurationProblem) -> [VerificationMethod: Set<CallerIDTrust>] {
        var out: [VerificationMethod: Set<CallerIDTrust>] = [:]
        for entry in text.split(separator: ";") where !entry.trimmingCharacters(in: .whitespaces).isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let channel = VerificationMethod(rawValue: parts[0]), channel.isCallIn else {
                throw ConfigurationProblem("caller ID trust: \(entry) must be missed_call, voice_callin or dtmf_callin = levels")
            }
            var levels = Set<CallerIDTrust>()
            for name in parts[1].split(separator: ",") {
                guard let level = CallerIDTrust(rawValue: name.trimmingCharacters(in: .whitespaces)), level != .withheld else {
                    throw ConfigurationProblem("caller ID trust: \(name) is not verified, asserted or unverified")
                }
                levels.insert(level)
            }
            guard !levels.isEmpty else { throw ConfigurationProblem("caller ID trust: \(parts[0]) lists no level") }
            out[channel] = levels
        }
        return out
    }

    /// Makes a policy; the defaults are README.md's.
    public init(
        defaultRegion: String = "TW", limits: VerificationLimits = .init(),
        enabledChannels: Set<VerificationMethod> = Set(VerificationMethod.allCases), systemNumbers: [String] = [],
        defaultLocale: String = "en", supportedLocales: [String] = ["en", "zh-TW"]
    ) {
        self.defaultRegion = defaultRegion.uppercased()
        self.limits = limits
        self.enabledChannels = enabledChannels
        self.systemNumbers = systemNumbers
        self.defaultLocale = defaultLocale
        self.supportedLocales = supportedLocales
    }

    /// Regions whose numbers may be verified (the allow-list, or the default region alone).
    public var allowedRegions: Set<String> {
        limits.allowedRegions.isEmpty ? [defaultRegion] : Set(limits.allowedRegions.map { $0.uppercased() })
    }

    /// The supported locale closest to `requested` ("zh-Hant-TW" → "zh-TW", "en-GB" → "en").
    public func locale(for requested: String?) -> String {
        guard let requested, !requested.isEmpty else { return defaultLocale }
        let lower = requested.lowercased()
        if let exact = supportedLocales.first(where: { $0.lowercased() == lower }) { return exact }
        if lower.hasPrefix("zh"), supportedLocales.contains("zh-TW") { return "zh-TW" }
        let language = lower.split(separator: "-").first.map(String.init) ?? lower
        return supportedLocales.first { $0.lowercased().hasPrefix(language) } ?? defaultLocale
    }
}

/// A configuration value that cannot be used, with the words to show the operator.
public struct ConfigurationProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, for the operator.
    public let description: String
    /// Makes a problem.
    public init(_ description: String) { self.description = description }
}
