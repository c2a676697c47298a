import Crypto
import Foundation
import Verification

/// The capability in a hosted page's URL (`/v/{token}`): which verification the visitor may see,
/// check and resend, until when, where to go on approval, and the code to show for the keyed
/// channels. Sealed with ChaCha20-Poly1305 (RFC 8439), so it is both authentic and opaque: the
/// redirect and the code never appear in access logs in clear.
public struct PageTicket: Sendable, Codable, Equatable {
    /// The verification this page drives.
    public var id: String
    /// The verification the integrator started (kept across switches of method and restarts).
    public var ref: String
    /// Unix seconds after which the ticket is refused.
    public var exp: Int
    /// Where the page sends the visitor on approval, with the signed result (`verigate_result`).
    public var redirect: String?
    /// The code shown on the page for `dtmf_callout` and `dtmf_callin`; nil otherwise.
    public var code: String?
    /// The channels the integrator allowed for this start (`channel` and `channels`): the only ones
    /// the page offers and switches to. Nil (a ticket of an older version): the verification's own channel.
    public var channels: [String]?

    /// Makes a ticket.
    public init(id: String, ref: String, exp: Int, redirect: String? = nil, code: String? = nil, channels: [String]? = nil) {
        self.id = id
        self.ref = ref
        self.exp = exp
        self.redirect = redirect
        self.code = code
        self.channels = channels
    }

    /// The channels this page may offer (see `channels`), for a verification now on `current`.
    public func allowedChannels(current: VerificationMethod) -> [VerificationMethod] {
        guard let channels else { return [current] }
        return channels.compactMap(VerificationMethod.init(rawValue:))
    }

    /// The token: base64url (RFC 4648 §5, unpadded) of nonce ‖ ciphertext ‖ tag.
    public func seal(key: [UInt8]) -> String {
        let json = (try? JSONEncoder.api.encode(self)) ?? Data()
        let box = try! ChaChaPoly.seal(json, using: SymmetricKey(data: key), authenticating: Array(Self.context.utf8))
        return Base64URL.encode(Array(box.combined))
    }

    /// The ticket in `token`, or nil when it was not made with `key`, is malformed or is past `exp`.
    public static func open(_ token: String, key: [UInt8], now: Date) -> PageTicket? {
        guard token.utf8.count <= 4096, let bytes = Base64URL.decode(token),
              let box = try? ChaChaPoly.SealedBox(combined: bytes),
              let json = try? ChaChaPoly.open(box, using: SymmetricKey(data: key), authenticating: Array(context.utf8)),
              let ticket = try? JSONDecoder().decode(PageTicket.self, from: json)
        else { return nil }
        return Double(ticket.exp) > now.timeIntervalSince1970 ? ticket : nil
    }

    private static let context = "verigate page ticket v1"
}

/// The signed result the page hands the integrator on approval (`redirect_url?verigate_result=…`).
///
/// Token: `base64url(payload) "." base64url(HMAC-SHA256(key, "vgr1." ‖ base64url(payload)))`
/// (RFC 2104, RFC 4648 §5 unpadded), where `key` is the webhook key (`verigate webhook-secret`)
/// and `payload` is compact JSON. The `vgr1.` prefix separates these MACs from webhook signatures
/// (which start with a timestamp). Receivers verify it offline; README shows how.
public struct ResultToken: Sendable, Codable, Equatable {
    /// Payload format version (1).
    public var v: Int
    /// The verification that was approved.
    public var id: String
    /// The verification the integrator started (differs from `id` after a switch of method).
    public var ref: String
    /// The verified number, E.164.
    public var to: String
    /// The channel that proved it.
    public var channel: String
    /// Always "approved" (the page redirects only then).
    public var status: String
    /// Issued at, Unix seconds.
    public var iat: Int
    /// Not valid after, Unix seconds.
    public var exp: Int

    /// Makes the result.
    public init(id: String, ref: String, to: String, channel: String, status: String, iat: Int, exp: Int) {
        v = 1
        self.id = id
        self.ref = ref
        self.to = to
        self.channel = channel
        self.status = status
        self.iat = iat
        self.exp = exp
    }

    /// The token string.
    public func sign(key: [UInt8]) -> String {
        let payload = Base64URL.encode(Array((try? JSONEncoder.api.encode(self)) ?? Data()))
        return payload + "." + Base64URL.encode(Self.mac(payload, key: key))
    }

    /// The payload of `token` if its MAC is valid and it is not expired at `now`.
    public static func verify(_ token: String, key: [UInt8], now: Date) -> ResultToken? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let mac = Base64URL.decode(String(parts[1])),
              HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array(("vgr1." + parts[0]).utf8), using: SymmetricKey(data: key)),
              let json = Base64URL.decode(String(parts[0])),
              let result = try? JSONDecoder().decode(ResultToken.self, from: Data(json)),
              Double(result.exp) > now.timeIntervalSince1970
        else { return nil }
        return result
    }

    static func mac(_ payload: String, key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(("vgr1." + payload).utf8), using: SymmetricKey(data: key)))
    }
}

/// base64url without padding (RFC 4648 §5).
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0.isBase64URL }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        s += String(repeating: "=", count: (4 - s.count % 4) % 4)
        return Data(base64Encoded: s).map(Array.init)
    }
}

private extension UInt8 {
    var isBase64URL: Bool {
        (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z")) || (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z"))
            || (self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9")) || self == UInt8(ascii: "-") || self == UInt8(ascii: "_")
    }
}
