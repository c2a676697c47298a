// DigestAlgorithm: the hash functions of HTTP Digest (RFC 7616 §3.2, §3.4.2) as used by SIP (RFC 8760).
// Hashing comes from swift-crypto; the Digest arithmetic around it is a few lines no library offers.

import ABNF
import Crypto

/// A Digest algorithm (RFC 7616 §3.2; RFC 8760 §2.2 for SIP). SHA-512-256 is not offered because
/// swift-crypto has no SHA-512/256 (it is not a truncation of SHA-512).
public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// MD5 (RFC 2617, RFC 7616 §3.2), the SIP default when no algorithm is given (RFC 3261 §22.4).
    case md5 = "MD5"
    /// MD5-sess (RFC 7616 §3.4.2).
    case md5Session = "MD5-sess"
    /// SHA-256 (RFC 7616 §3.2, RFC 8760 §2.2).
    case sha256 = "SHA-256"
    /// SHA-256-sess (RFC 7616 §3.4.2).
    case sha256Session = "SHA-256-sess"

    /// Parses an `algorithm` value; the token is case-insensitive (RFC 7616 §3.3).
    public init?(token: String) {
        switch token.lowercased() {
        case "md5": self = .md5
        case "md5-sess": self = .md5Session
        case "sha-256": self = .sha256
        case "sha-256-sess": self = .sha256Session
        default: return nil
        }
    }

    /// Relative strength, higher is stronger, for choosing among challenges (RFC 7616 §3.7).
    public var strength: Int {
        switch self {
        case .md5, .md5Session: 1
        case .sha256, .sha256Session: 2
        }
    }

    /// Whether this is a `-sess` variant, whose A1 includes nonce and cnonce (RFC 7616 §3.4.2).
    public var isSession: Bool {
        switch self {
        case .md5Session, .sha256Session: true
        case .md5, .sha256: false
        }
    }

    /// H(data) as lowercase hex (RFC 7616 §3.4.1).
    public func hash(_ text: String) -> String {
        switch self {
        case .md5, .md5Session: Insecure.MD5.hash(data: Array(text.utf8)).hexEncoded
        case .sha256, .sha256Session: SHA256.hash(data: Array(text.utf8)).hexEncoded
        }
    }

}

/// The Digest response computation of RFC 7616 §3.4.1–3.4.3 (qop=auth) and RFC 2069 (no qop).
public enum DigestComputation {
    /// H(A1), from the password (§3.4.2), for `-sess` variants including nonce and cnonce.
    public static func ha1(algorithm: DigestAlgorithm, username: String, realm: String, password: String, nonce: String, cnonce: String?) -> String {
        let base = algorithm.hash("\(username):\(realm):\(password)")
        guard algorithm.isSession else { return base }
        return algorithm.hash("\(base):\(nonce):\(cnonce ?? "")")
    }

    /// The `response` value (§3.4.1): H(H(A1):nonce:nc:cnonce:qop:H(A2)) with qop=auth, where A2 = method:uri
    /// (§3.4.3); without qop, RFC 2069's H(H(A1):nonce:H(A2)).
    public static func response(
        algorithm: DigestAlgorithm, ha1: String, nonce: String, method: String, uri: String,
        qop: String?, nonceCount: String?, cnonce: String?
    ) -> String {
        let ha2 = algorithm.hash("\(method):\(uri)")
        if let qop {
            return algorithm.hash("\(ha1):\(nonce):\(nonceCount ?? ""):\(cnonce ?? ""):\(qop):\(ha2)")
        }
        return algorithm.hash("\(ha1):\(nonce):\(ha2)")
    }
}
