import Verification

/// Settings of the verification core (flags and `VERIGATE_*` variables of `verigate serve`).
public struct CoreConfiguration: Sendable {
    /// HTTP listen host (loopback by default).
    public var httpHost: String = "127.0.0.1"
    /// HTTP listen port.
    public var httpPort: Int = 8080
    public var policy: VerificationPolicy = .init()
    /// Dev mode keeps the SMS outbox at `/dev/outbox`; production mode never shows a code.
    public var devMode: Bool = true
    public var smsTemplates: SMSTemplates = .init()
    /// The SMS gateway codes are sent through (`console` by default).
    public var smsDriver: SMSDriver = .console
    /// Seconds within which a sent SMS must get a final delivery report, or its pending
    /// verification fails; 0 = reports are not required (Kannel and SMPP drivers only).
    public var smsReceiptTimeout: Double = 0
    /// How often pending verifications are checked for expiry (seconds).
    public var expirySweepInterval: Double = 1

    public init() {}
}
