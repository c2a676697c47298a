// SIP request methods (RFC 3261 §7.1, §27.4 and the extension RFCs). Written by hand: no Swift SIP
// library exists (see issue 3); this is the vocabulary the rest of the stack switches over.

/// A SIP method, RFC 3261 §7.1 (`Method = INVITEm / ACKm / … / extension-method`).
///
/// Methods are case-sensitive tokens (§7.1); `invite` is an extension method, not INVITE.
public enum SIPMethod: Hashable, Sendable, CustomStringConvertible {
    /// INVITE, RFC 3261 §13.
    case invite
    /// ACK, RFC 3261 §17.1.1.3.
    case ack
    /// BYE, RFC 3261 §15.
    case bye
    /// CANCEL, RFC 3261 §9.
    case cancel
    /// OPTIONS, RFC 3261 §11.
    case options
    /// REGISTER, RFC 3261 §10.
    case register
    /// PRACK, RFC 3262.
    case prack
    /// SUBSCRIBE, RFC 6665.
    case subscribe
    /// NOTIFY, RFC 6665.
    case notify
    /// PUBLISH, RFC 3903.
    case publish
    /// INFO, RFC 6086.
    case info
    /// REFER, RFC 3515.
    case refer
    /// MESSAGE, RFC 3428.
    case message
    /// UPDATE, RFC 3311.
    case update
    /// Any other `extension-method` token (RFC 3261 §25.1), spelled exactly as received.
    case `extension`(String)

    /// All methods this module knows by name (every case except `.extension`).
    public static let known: [SIPMethod] = [
        .invite, .ack, .bye, .cancel, .options, .register, .prack, .subscribe, .notify, .publish,
        .info, .refer, .message, .update,
    ]

    /// Makes a method from its token; known names map to their case, anything else to `.extension`.
    /// Does not validate the token grammar (the parser does).
    public init(_ token: String) {
        var token = token
        self = token.withUTF8 { SIPMethod(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Makes a method from the raw token bytes without allocating for known methods.
    @inlinable
    init(bytes: UnsafeRawBufferPointer) {
        if let known = SIPMethod.knownMethod(bytes) { self = known } else {
            self = .extension(String(decoding: bytes, as: UTF8.self))
        }
    }

    @usableFromInline
    static func knownMethod(_ b: UnsafeRawBufferPointer) -> SIPMethod? {
        func eq(_ s: StaticString) -> Bool {
            guard s.utf8CodeUnitCount == b.count else { return false }
            let p = s.utf8Start
            for i in 0..<b.count where p[i] != b[i] { return false }
            return true
        }
        switch b.count {
        case 3: return eq("ACK") ? .ack : eq("BYE") ? .bye : nil
        case 4: return eq("INFO") ? .info : nil
        case 5: return eq("PRACK") ? .prack : eq("REFER") ? .refer : nil
        case 6: return eq("INVITE") ? .invite : eq("CANCEL") ? .cancel : eq("NOTIFY") ? .notify : eq("UPDATE") ? .update : nil
        case 7: return eq("OPTIONS") ? .options : eq("PUBLISH") ? .publish : eq("MESSAGE") ? .message : nil
        case 8: return eq("REGISTER") ? .register : nil
        case 9: return eq("SUBSCRIBE") ? .subscribe : nil
        default: return nil
        }
    }

    /// The method token as sent on the wire.
    public var description: String {
        switch self {
        case .invite: "INVITE"
        case .ack: "ACK"
        case .bye: "BYE"
        case .cancel: "CANCEL"
        case .options: "OPTIONS"
        case .register: "REGISTER"
        case .prack: "PRACK"
        case .subscribe: "SUBSCRIBE"
        case .notify: "NOTIFY"
        case .publish: "PUBLISH"
        case .info: "INFO"
        case .refer: "REFER"
        case .message: "MESSAGE"
        case .update: "UPDATE"
        case .extension(let token): token
        }
    }

    /// True for methods this module knows by name (not `.extension`).
    public var isKnown: Bool {
        if case .extension = self { return false }
        return true
    }
}
