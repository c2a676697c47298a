// DigestClient: answering 401/407 challenges (RFC 3261 §22.2, §22.3; RFC 7616 §3.4; RFC 8760 §2.4).

/// The client side of Digest: picks a challenge and computes credentials. A value; it counts `nc` per
/// nonce so that reusing a nonce sends increasing counts (RFC 7616 §3.4). The cnonce is an input.
public struct DigestClient: Sendable, Equatable {
    /// The user name.
    public var username: String
    /// The password.
    public var password: String
    private var nonceCounts: [String: UInt32] = [:]

    /// Creates a client for one identity.
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// Chooses among the challenges of a 401/407 (one per WWW-Authenticate / Proxy-Authenticate value):
    /// the strongest supported algorithm, earliest on ties (RFC 7616 §3.7, RFC 8760 §2.4), with qop
    /// `auth` or no qop (RFC 2069 compatibility, RFC 3261 §22.4). Throws when none is usable.
    public static func choose(from challenges: [DigestChallenge]) throws(SIPStackError) -> DigestChallenge {
        var best: (challenge: DigestChallenge, strength: Int)?
        var sawSupportedAlgorithm = false
        for challenge in challenges {
            guard let algorithm = challenge.algorithm else { continue }
            sawSupportedAlgorithm = true
            guard challenge.qopOptions.isEmpty || challenge.qopOptions.contains("auth") else { continue }
            if best == nil || algorithm.strength > (best?.strength ?? 0) { best = (challenge, algorithm.strength) }
        }
        if let best { return best.challenge }
        if sawSupportedAlgorithm { throw SIPStackError(.unsupportedDigestQOP, "no challenge offers qop=auth") }
        throw SIPStackError(.unsupportedDigestAlgorithm, "no offered algorithm is supported")
    }

    /// Computes credentials for `method` on `uri` answering `challenge` (RFC 7616 §3.4.1, RFC 3261 §22.4).
    /// `cnonce` should be fresh and random per call; the nonce count increments per nonce.
    public mutating func credentials(for challenge: DigestChallenge, method: String, uri: String, cnonce: String) throws(SIPStackError) -> DigestCredentials {
        guard let algorithm = challenge.algorithm else {
            throw SIPStackError(.unsupportedDigestAlgorithm, "algorithm \(challenge.algorithmToken ?? "") is not supported")
        }
        let useQOP = challenge.qopOptions.contains("auth")
        guard useQOP || challenge.qopOptions.isEmpty else { throw SIPStackError(.unsupportedDigestQOP, "qop=auth not offered") }
        var nonceCountText: String?
        if useQOP {
            let count = (nonceCounts[challenge.nonce] ?? 0) &+ 1
            nonceCounts = nonceCounts.count > 32 ? [:] : nonceCounts
            nonceCounts[challenge.nonce] = count
            nonceCountText = Self.formatNonceCount(count)
        }
        let ha1 = DigestComputation.ha1(
            algorithm: algorithm, username: username, realm: challenge.realm, password: password,
            nonce: challenge.nonce, cnonce: useQOP ? cnonce : nil
        )
        let response = DigestComputation.response(
            algorithm: algorithm, ha1: ha1, nonce: challenge.nonce, method: method, uri: uri,
            qop: useQOP ? "auth" : nil, nonceCount: nonceCountText, cnonce: useQOP ? cnonce : nil
        )
        return DigestCredentials(
            username: username, realm: challenge.realm, nonce: challenge.nonce, uri: uri, response: response,
            algorithm: challenge.algorithmToken == nil ? nil : algorithm, cnonce: useQOP ? cnonce : nil,
            opaque: challenge.opaque, qop: useQOP ? "auth" : nil, nonceCount: nonceCountText
        )
    }

    /// `nc` as eight lowercase hex digits (RFC 7616 §3.4).
    static func formatNonceCount(_ count: UInt32) -> String {
        let hex = String(count, radix: 16)
        return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }
}
