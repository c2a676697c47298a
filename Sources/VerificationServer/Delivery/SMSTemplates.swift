import Verification

/// SMS texts per locale with `{code}`, `{minutes}` and `{brand}`.
public struct SMSTemplates: Sendable, Equatable {
    /// The name `{brand}` stands for.
    public var brand: String
    /// The text per locale (BCP 47).
    public var templates: [String: String]
    /// When set (a host such as `example.com`), a last line `@example.com #123456` in the
    /// origin-bound one-time code format (WICG "Origin-bound one-time codes delivered via SMS")
    /// lets browsers and phones fill the code in by themselves.
    public var otpOrigin: String?

    /// Makes templates; the defaults are English and Traditional Chinese.
    public init(brand: String = "Verigate", templates: [String: String] = SMSTemplates.defaults, otpOrigin: String? = nil) {
        self.brand = brand
        self.templates = templates
        self.otpOrigin = otpOrigin
    }

    /// Built-in texts for English and Traditional Chinese.
    public static let defaults: [String: String] = [
        "en": "{brand}: your verification code is {code}. It expires in {minutes} minutes. Do not share it.",
        "zh-TW": "{brand}：您的驗證碼是 {code}，{minutes} 分鐘內有效。請勿告訴他人。",
    ]

    /// The text of `message` in its locale (falling back to English).
    public func render(_ message: CodeMessage) -> String {
        let template = templates[message.locale] ?? templates["en"] ?? "{code}"
        let minutes = max(1, Int((message.expiresIn / 60).rounded(.up)))
        let text = template
            .replacingOccurrences(of: "{brand}", with: brand)
            .replacingOccurrences(of: "{minutes}", with: String(minutes))
            .replacingOccurrences(of: "{code}", with: message.code)
        guard let origin = otpOrigin, !origin.isEmpty else { return text }
        return text + "\n\n@\(origin) #\(message.code)"
    }
}
