/// What the operator configured for the verification flows.
public struct VerificationPolicy: Sendable, Equatable {
    /// ISO region for numbers typed without a country code ("TW").
    public var defaultRegion: String
    public var limits: VerificationLimits
    /// Channels this server offers.
    public var enabledChannels: Set<Channel>
    /// System numbers (E.164) users call for the call-in channels; verifications spread over them.
    public var systemNumbers: [String]
    /// Locale when the request names none.
    public var defaultLocale: String
    /// Locales with messages and prompts.
    public var supportedLocales: [String]
    /// Caller-ID trust levels the call-in channels accept (asserted only by default: a spoofable From
    /// header must not approve a verification).
    public var acceptedCallerIDTrust: Set<CallerIDTrust> = [.asserted]

    public init(
        defaultRegion: String = "TW", limits: VerificationLimits = .init(),
        enabledChannels: Set<Channel> = Set(Channel.allCases), systemNumbers: [String] = [],
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
