import Foundation

/// Time as an input: the service never reads the wall clock itself.
public protocol VerificationClock: Sendable {
    func now() -> Date
}

/// The system wall clock.
public struct SystemClock: VerificationClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// What a delivery channel is asked to send. `code` is plain text only here, in memory, on its way
/// to the SMS gateway or the voice gateway; it is never stored or logged.
public struct CodeMessage: Sendable, Equatable {
    public var verificationID: String
    public var to: PhoneNumber
    public var channel: Channel
    public var code: String
    public var locale: String
    /// Seconds until the code expires (for "valid for {minutes} minutes").
    public var expiresIn: Double
    /// The code's length: a dtmf_callout call asks for this many keys and never carries the code,
    /// so a repeated call has an empty `code` and only this.
    public var codeLength: Int

    public init(verificationID: String, to: PhoneNumber, channel: Channel, code: String, locale: String, expiresIn: Double, codeLength: Int? = nil) {
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
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// Channel delivery is a protocol: SMS drivers (console, Kannel, SMPP) and the voice gateway
/// implement it; the service picks by channel.
public protocol CodeDelivery: Sendable {
    /// The channel can be used now (a voice gateway is attached, an SMS driver is configured).
    func isAvailable(_ channel: Channel) async -> Bool
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

/// Receives every event after it is stored: the SSE stream, metrics and logs listen here.
public protocol VerificationEventSink: Sendable {
    func published(_ event: VerificationEvent, verification: Verification) async
    /// A send a guard refused (nothing was stored): logs and `/metrics` count it.
    func sendRefused(_ refusal: SendRefusal) async
}

extension VerificationEventSink {
    /// Sinks that only follow stored events ignore refusals.
    public func sendRefused(_ refusal: SendRefusal) async {}
}
