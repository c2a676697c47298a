/// What a delivery channel is asked to send. `code` is plain text only here, in memory, on its way
/// to the SMS gateway or the voice gateway; it is never stored or logged.
public struct CodeMessage: Sendable, Equatable {
    /// The verification the code belongs to.
    public var verificationID: String
    /// The number to text or call.
    public var to: PhoneNumber
    /// How to deliver it (sms, voice_call, dtmf_callout).
    public var channel: VerificationMethod
    /// The code in clear; empty for a repeated dtmf_callout call, which never carries it.
    public var code: String
    /// The language of the message or the spoken prompts (BCP 47, e.g. `en`).
    public var locale: String
    /// Seconds until the code expires (for "valid for {minutes} minutes").
    public var expiresIn: Double
    /// The code's length: a dtmf_callout call asks for this many keys and never carries the code,
    /// so a repeated call has an empty `code` and only this.
    public var codeLength: Int

    /// Makes a message; `codeLength` defaults to the length of `code`.
    public init(verificationID: String, to: PhoneNumber, channel: VerificationMethod, code: String, locale: String, expiresIn: Double, codeLength: Int? = nil) {
        self.verificationID = verificationID
        self.to = to
        self.channel = channel
        self.code = code
        self.codeLength = codeLength ?? code.count
        self.locale = locale
        self.expiresIn = expiresIn
    }
}

/// Why a delivery failed, said to the integrator and kept on the verification.
public struct DeliveryFailure: Error, Sendable, Equatable {
    /// The reason, as the integrator reads it (never carries the code).
    public var reason: String
    /// Makes a failure.
    public init(reason: String) { self.reason = reason }
}

/// VerificationMethod delivery is a protocol: SMS drivers (console, Kannel, SMPP) and the voice gateway
/// implement it; the service picks by channel.
public protocol CodeDelivery: Sendable {
    /// The channel can be used now (a voice gateway is attached, an SMS driver is configured).
    func isAvailable(_ channel: VerificationMethod) async -> Bool
    /// Sends the code (SMS) or places the call (voice). Throws `DeliveryFailure`.
    func deliver(_ message: CodeMessage) async throws
    /// System numbers (E.164) the attached voice gateways answer, besides the configured ones
    /// (sip.conf `system_number`, sent in the gateway's hello).
    func gatewaySystemNumbers() async -> [String]
}

extension CodeDelivery {
    /// No gateway numbers: only the configured system numbers are used.
    public func gatewaySystemNumbers() async -> [String] { [] }
}
