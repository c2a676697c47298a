// DigestCredentials: an Authorization / Proxy-Authorization Digest value (RFC 7616 §3.4, RFC 3261 §22.2).

import SIPMessage

/// Digest credentials (RFC 7616 §3.4; RFC 3261 §20.7, §20.28, §25.1 dig-resp).
public struct DigestCredentials: Sendable, Equatable {
    /// `username`.
    public var username: String
    /// `realm`, copied from the challenge.
    public var realm: String
    /// `nonce`, copied from the challenge.
    public var nonce: String
    /// `uri`: the Request-URI (RFC 3261 §22.4).
    public var uri: String
    /// `response`: the computed digest.
    public var response: String
    /// The algorithm token as sent; `nil` means MD5.
    public var algorithmToken: String?
    /// `cnonce`, with qop.
    public var cnonce: String?
    /// `opaque`, copied from the challenge.
    public var opaque: String?
    /// `qop` chosen (`auth`), or nil for RFC 2069 style.
    public var qop: String?
    /// `nc`, eight hex digits (RFC 7616 §3.4).
    public var nonceCount: String?

    /// The algorithm, when supported (absent means MD5).
    public var algorithm: DigestAlgorithm? {
        guard let algorithmToken else { return .md5 }
        return DigestAlgorithm(token: algorithmToken)
    }

    /// Creates credentials.
    public init(
        username: String, realm: String, nonce: String, uri: String, response: String,
        algorithm: DigestAlgorithm?, cnonce: String?, opaque: String?, qop: String?, nonceCount: String?
    ) {
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response
        self.algorithmToken = algorithm?.rawValue
        self.cnonce = cnonce
        self.opaque = opaque
        self.qop = qop
        self.nonceCount = nonceCount
    }

    /// Parses `Digest username="…", …` (RFC 7616 §3.4).
    public init(parsing header: String) throws(SIPStackError) {
        try self.init(try DigestParameters(parsing: header))
    }

    /// Takes a parsed `SIPAuthValue` from `SIPHeaders` (RFC 7616 §3.3, §3.4).
    public init(_ value: SIPAuthValue) throws(SIPStackError) {
        try self.init(try DigestParameters(value))
    }

    /// Takes checked Digest parameters.
    public init(_ parameters: DigestParameters) throws(SIPStackError) {
        func required(_ name: String) throws(SIPStackError) -> String {
            guard let value = parameters[name] else { throw SIPStackError(.malformedDigestHeader, "credentials without \(name)") }
            return value
        }
        username = try required("username")
        realm = try required("realm")
        nonce = try required("nonce")
        uri = try required("uri")
        response = try required("response")
        algorithmToken = parameters["algorithm"]
        cnonce = parameters["cnonce"]
        opaque = parameters["opaque"]
        qop = parameters["qop"]
        nonceCount = parameters["nc"]
    }

    /// The header value; `qop`, `nc` and `algorithm` unquoted as RFC 3261 §25.1 and RFC 7616 §3.4 require.
    public var headerValue: String {
        var pairs: [(name: String, value: String)] = [
            ("username", username), ("realm", realm), ("nonce", nonce), ("uri", uri), ("response", response),
        ]
        if let algorithmToken { pairs.append(("algorithm", algorithmToken)) }
        if let cnonce { pairs.append(("cnonce", cnonce)) }
        if let opaque { pairs.append(("opaque", opaque)) }
        if let qop { pairs.append(("qop", qop)) }
        if let nonceCount { pairs.append(("nc", nonceCount)) }
        return DigestParameters(pairs).headerValue(quoted: ["username", "realm", "nonce", "uri", "response", "cnonce", "opaque"])
    }
}
