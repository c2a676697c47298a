// DigestChallenge: a WWW-Authenticate / Proxy-Authenticate Digest challenge (RFC 7616 §3.3, RFC 3261 §22.4).

import ABNF
import SIPMessage

/// A Digest challenge (RFC 7616 §3.3; in SIP RFC 3261 §22.1, §20.44, §20.27 and RFC 8760 §2.3).
public struct DigestChallenge: Sendable, Equatable {
    /// `realm` (required).
    public var realm: String
    /// `nonce` (required).
    public var nonce: String
    /// `opaque`, echoed back unchanged.
    public var opaque: String?
    /// The algorithm token as sent; `nil` means MD5 (RFC 3261 §22.4). May be one we do not support.
    public var algorithmToken: String?
    /// The qop options offered (`auth`, `auth-int`); empty when the challenge has none (RFC 2069 style).
    public var qopOptions: [String]
    /// `stale=true`: the previous nonce expired, retry with the new one without asking the user (RFC 7616 §3.3).
    public var stale: Bool

    /// The algorithm, when supported (absent means MD5).
    public var algorithm: DigestAlgorithm? {
        guard let algorithmToken else { return .md5 }
        return DigestAlgorithm(token: algorithmToken)
    }

    /// Creates a challenge.
    public init(realm: String, nonce: String, opaque: String? = nil, algorithm: DigestAlgorithm = .md5, qopOptions: [String] = ["auth"], stale: Bool = false) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.algorithmToken = algorithm.rawValue
        self.qopOptions = qopOptions
        self.stale = stale
    }

    /// Parses a header value `Digest realm="…", nonce="…", …` (RFC 7616 §3.3).
    public init(parsing header: String) throws(SIPStackError) {
        try self.init(try DigestParameters(parsing: header))
    }

    /// Takes a parsed `SIPAuthValue` from `SIPHeaders` (RFC 7616 §3.3, §3.4).
    public init(_ value: SIPAuthValue) throws(SIPStackError) {
        try self.init(try DigestParameters(value))
    }

    /// Takes checked Digest parameters.
    public init(_ parameters: DigestParameters) throws(SIPStackError) {
        guard let realm = parameters["realm"] else { throw SIPStackError(.malformedDigestHeader, "challenge without realm") }
        guard let nonce = parameters["nonce"] else { throw SIPStackError(.malformedDigestHeader, "challenge without nonce") }
        self.realm = realm
        self.nonce = nonce
        self.opaque = parameters["opaque"]
        self.algorithmToken = parameters["algorithm"]
        self.qopOptions = parameters["qop"].map { $0.split(separator: ",").map { $0.trimmingWSP.lowercased() } } ?? []
        self.stale = parameters["stale"]?.lowercased() == "true"
    }

    /// The header value, quoting per RFC 3261 §25.1 (`algorithm` and `stale` are tokens).
    public var headerValue: String {
        var pairs: [(name: String, value: String)] = [("realm", realm), ("nonce", nonce)]
        if let opaque { pairs.append(("opaque", opaque)) }
        if let algorithmToken { pairs.append(("algorithm", algorithmToken)) }
        if !qopOptions.isEmpty { pairs.append(("qop", qopOptions.joined(separator: ","))) }
        if stale { pairs.append(("stale", "TRUE")) }
        return DigestParameters(pairs).headerValue(quoted: ["realm", "nonce", "opaque", "qop"])
    }
}
