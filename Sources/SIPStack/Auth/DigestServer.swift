// DigestServer: challenging and verifying Digest credentials (RFC 3261 §22.1–22.4, RFC 7616 §3.3–3.5,
// RFC 8760 §2.3) with nonces that expire and cannot be replayed. Time and randomness are inputs.

import ABNF
import Crypto

/// The outcome of checking credentials (RFC 7616 §3.5, RFC 3261 §22.4).
public enum DigestVerdict: Sendable, Equatable {
    /// The credentials are good: process the request as this user.
    case accepted(username: String)
    /// The response is right but the nonce expired: challenge again with `stale=true` (RFC 7616 §3.3).
    case stale
    /// The credentials are wrong: challenge again (401/407), or 403 after repeated failures.
    case rejected(DigestRejection)
}

/// Why credentials were rejected.
public enum DigestRejection: String, Sendable, Equatable {
    /// The realm is not ours.
    case wrongRealm
    /// The nonce was not issued by us (its MAC is wrong) or is malformed.
    case unknownNonce
    /// The algorithm is not the one we offer or not supported.
    case unsupportedAlgorithm
    /// qop=auth, cnonce and nc are required by this server.
    case missingQOP
    /// The nonce count was not greater than one seen before for this nonce (replay, RFC 7616 §3.4, §5.12).
    case replayedNonceCount
    /// The `uri` differs from the Request-URI (RFC 3261 §22.4 lets a server check).
    case uriMismatch
    /// The user is unknown (no password).
    case unknownUser
    /// The response digest is wrong (wrong password).
    case wrongResponse
}

/// The server side of Digest. A value with no I/O: `now` is the time since an epoch the caller keeps
/// (a monotonic clock's start is fine; nonces do not outlive the secret). Nonces are
/// `hex(issued-ms ‖ random ‖ HMAC-SHA256(secret, issued-ms ‖ random)[0..<16])`, so any node with the
/// secret can check them; the per-nonce highest `nc` is tracked to refuse replays.
public struct DigestServer: Sendable {
    /// The realm (RFC 3261 §22.1: a globally unique name, typically the host).
    public let realm: String
    /// The algorithms offered, one challenge each, most preferred first (RFC 8760 §2.3).
    public let algorithms: [DigestAlgorithm]
    /// How long a nonce is good for.
    public let nonceLifetime: Duration
    /// The most nonces whose `nc` is tracked; beyond it the oldest are retired (then treated as stale).
    public let maxTrackedNonces: Int
    private let key: SymmetricKey
    private var highestCount: [String: (issuedMillis: Int64, count: UInt32)] = [:]
    private var retiredBeforeMillis: Int64 = .min

    /// Creates a server for `realm` with a secret of at least 16 bytes.
    public init(realm: String, secret: [UInt8], algorithms: [DigestAlgorithm] = [.sha256, .md5], nonceLifetime: Duration = .seconds(300), maxTrackedNonces: Int = 10_000) {
        self.realm = realm
        self.key = SymmetricKey(data: secret)
        self.algorithms = algorithms
        self.nonceLifetime = nonceLifetime
        self.maxTrackedNonces = maxTrackedNonces
    }

    /// A fresh nonce issued at `now`.
    public func makeNonce(now: Duration, using generator: inout some RandomNumberGenerator) -> String {
        var body: [UInt8] = []
        withUnsafeBytes(of: Self.millis(now).bigEndian) { body.append(contentsOf: $0) }
        withUnsafeBytes(of: generator.next() as UInt64) { body.append(contentsOf: $0) }
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: key)
        return (body + Array(mac).prefix(16)).hexEncoded
    }

    /// The challenges for a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate), one per algorithm, sharing
    /// one nonce (RFC 3261 §22.1, §22.3; RFC 8760 §2.3). `stale` after a `.stale` verdict.
    public func challenges(now: Duration, stale: Bool = false, using generator: inout some RandomNumberGenerator) -> [DigestChallenge] {
        let nonce = makeNonce(now: now, using: &generator)
        return algorithms.map { DigestChallenge(realm: realm, nonce: nonce, algorithm: $0, qopOptions: ["auth"], stale: stale) }
    }

    /// The challenges, with the system's random generator.
    public func challenges(now: Duration, stale: Bool = false) -> [DigestChallenge] {
        var generator = SystemRandomNumberGenerator()
        return challenges(now: now, stale: stale, using: &generator)
    }

    /// Checks `credentials` for a request with `method` and Request-URI `requestURI` (nil: not compared),
    /// given the user's `password` (nil when the user is unknown), at time `now` (RFC 7616 §3.4.1, §3.5).
    public mutating func verify(_ credentials: DigestCredentials, method: String, requestURI: String?, password: String?, now: Duration) -> DigestVerdict {
        guard credentials.realm == realm else { return .rejected(.wrongRealm) }
        guard let issued = issuedMillis(of: credentials.nonce) else { return .rejected(.unknownNonce) }
        guard let algorithm = credentials.algorithm, algorithms.contains(algorithm) else { return .rejected(.unsupportedAlgorithm) }
        guard credentials.qop?.lowercased() == "auth", let cnonce = credentials.cnonce, let ncText = credentials.nonceCount,
              ncText.utf8.count == 8, let count = UInt32(ncText, radix: 16) else { return .rejected(.missingQOP) }
        if let requestURI, credentials.uri != requestURI { return .rejected(.uriMismatch) }
        guard let password else { return .rejected(.unknownUser) }
        let ha1 = DigestComputation.ha1(algorithm: algorithm, username: credentials.username, realm: realm, password: password, nonce: credentials.nonce, cnonce: cnonce)
        let expected = DigestComputation.response(
            algorithm: algorithm, ha1: ha1, nonce: credentials.nonce, method: method, uri: credentials.uri,
            qop: "auth", nonceCount: ncText, cnonce: cnonce
        )
        guard Self.constantTimeEqual(expected, credentials.response.lowercased()) else { return .rejected(.wrongResponse) }
        let nowMillis = Self.millis(now)
        let lifetimeMillis = Self.millis(nonceLifetime)
        if nowMillis - issued > lifetimeMillis || nowMillis < issued { return .stale }
        if let seen = highestCount[credentials.nonce] {
            guard count > seen.count else { return .rejected(.replayedNonceCount) }
        } else if issued <= retiredBeforeMillis {
            // We no longer know which counts this nonce used: ask for a fresh one.
            return .stale
        }
        highestCount[credentials.nonce] = (issued, count)
        prune(nowMillis: nowMillis, lifetimeMillis: lifetimeMillis)
        return .accepted(username: credentials.username)
    }

    /// The number of nonces whose counts are tracked.
    public var trackedNonceCount: Int { highestCount.count }

    private mutating func prune(nowMillis: Int64, lifetimeMillis: Int64) {
        guard highestCount.count > maxTrackedNonces else { return }
        highestCount = highestCount.filter { nowMillis - $0.value.issuedMillis <= lifetimeMillis }
        while highestCount.count > maxTrackedNonces, let oldest = highestCount.min(by: { $0.value.issuedMillis < $1.value.issuedMillis }) {
            highestCount[oldest.key] = nil
            retiredBeforeMillis = max(retiredBeforeMillis, oldest.value.issuedMillis)
        }
    }

    private func issuedMillis(of nonce: String) -> Int64? {
        guard nonce.utf8.count == 64, let bytes = nonce.hexDecoded else { return nil }
        let body = Array(bytes[0..<16])
        let mac = Array(HMAC<SHA256>.authenticationCode(for: body, using: key)).prefix(16)
        guard Self.constantTimeEqual(Array(mac), Array(bytes[16..<32])) else { return nil }
        return body[0..<8].reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }

    static func millis(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000
    }



    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        constantTimeEqual(Array(lhs.utf8), Array(rhs.utf8))
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
