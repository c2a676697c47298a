import SMPP
import Verification

/// Which SMS gateway the core sends codes through (`--sms-driver`, `VERIGATE_SMS_DRIVER`).
public enum SMSDriver: Sendable, Equatable {
    /// The development outbox (`/dev/outbox` in dev mode); nothing leaves the machine.
    case console
    /// Kannel's HTTP `sendsms` interface, with delivery reports posted back to the core.
    case kannel(KannelConfiguration)
    /// An SMPP 3.4 transceiver session straight to an operator's SMSC.
    case smpp(SMPPDriverConfiguration)

    /// The driver's name as configured (`console`, `kannel`, `smpp`).
    public var name: String {
        switch self {
        case .console: "console"
        case .kannel: "kannel"
        case .smpp: "smpp"
        }
    }
}

/// Settings of the Kannel driver (Kannel user guide, "SMS Push (send-sms) CGI interface").
public struct KannelConfiguration: Sendable, Equatable {
    /// The smsbox `sendsms` URL.
    public var sendsmsURL: String
    /// A `sendsms-user` of the smsbox.
    public var username: String
    /// Its password (sent in the sendsms query; never logged).
    public var password: String
    /// The sender (`from`); empty leaves it to Kannel's `global-sender`.
    public var from: String
    /// `dlr-mask`: 1 delivered, 2 undelivered, 4 buffered, 8 SMSC accepted, 16 SMSC rejected.
    public var dlrMask: Int
    /// The core's base URL as Kannel reaches it (for `dlr-url`); nil: the HTTP address the core listens on.
    public var callbackBaseURL: String?
    /// Seconds to wait for Kannel's answer.
    public var timeout: Double

    /// Kannel settings with the defaults of `tests/kannel/kannel.conf`'s smsbox.
    public init(sendsmsURL: String = "http://127.0.0.1:13013/cgi-bin/sendsms", username: String, password: String, from: String = "",
                dlrMask: Int = 1 | 2 | 8 | 16, callbackBaseURL: String? = nil, timeout: Double = 10) {
        self.sendsmsURL = sendsmsURL
        self.username = username
        self.password = password
        self.from = from
        self.dlrMask = dlrMask
        self.callbackBaseURL = callbackBaseURL
        self.timeout = timeout
    }
}

/// Settings of the SMPP driver: the ESME session plus what goes into each submit_sm (SMPP 3.4 §4.4.1).
public struct SMPPDriverConfiguration: Sendable, Equatable {
    /// The ESME session (host, port, bind credentials, window, rate, keep-alive, backoff).
    public var session: ESMEConfiguration
    /// source_addr; alphanumeric senders get TON 5 (§5.2.5), digits TON 1.
    public var sourceAddr: String
    /// GSM 03.38 packing of short_message.
    public var packing: SMSEncoder.GSMPacking
    /// Ask for a delivery receipt (registered_delivery 1, §5.2.17).
    public var registeredDelivery: Bool

    /// SMPP driver settings.
    public init(session: ESMEConfiguration, sourceAddr: String = "", packing: SMSEncoder.GSMPacking = .unpacked, registeredDelivery: Bool = true) {
        self.session = session
        self.sourceAddr = sourceAddr
        self.packing = packing
        self.registeredDelivery = registeredDelivery
    }
}

/// One SMS driver: renders and sends the code's text, throwing `DeliveryFailure` with the
/// gateway's reason when the gateway refuses it.
public protocol SMSSender: Sendable {
    /// Sends the rendered code message; throws `DeliveryFailure` when the gateway refuses it.
    func send(_ message: CodeMessage) async throws
}
