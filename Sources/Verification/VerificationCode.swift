import Crypto
import Foundation

/// Source of randomness for codes and ids. The default is the system CSPRNG
/// (`SystemRandomNumberGenerator`: getrandom(2) on Linux); tests inject a seeded one.
public protocol RandomSource: Sendable {
    /// A uniformly distributed 64-bit value.
    func next() -> UInt64
}

/// The system CSPRNG.
public struct SystemRandomSource: RandomSource {
    /// The system CSPRNG.
    public init() {}
    /// 64 random bits from `SystemRandomNumberGenerator`.
    public func next() -> UInt64 {
        var g = SystemRandomNumberGenerator()
        return g.next()
    }
}

extension RandomSource {
    /// A uniform value in `0..<upperBound`, by rejection sampling (no modulo bias).
    public func uniform(below upperBound: UInt64) -> UInt64 {
        precondition(upperBound > 0)
        let limit = UInt64.max - (UInt64.max % upperBound)
        while true {
            let v = next()
            if v < limit { return v % upperBound }
        }
    }

    /// `count` random bytes.
    public func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: next().littleEndian) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }
}

/// Numeric one-time codes: digits from a CSPRNG, 4–10 long.
public enum VerificationCode {
    /// Allowed code lengths.
    public static let lengths = 4...10

    /// A code of `length` decimal digits, each uniform over 0–9.
    public static func generate(length: Int, random: any RandomSource) -> String {
        precondition(lengths.contains(length))
        var s = ""
        s.reserveCapacity(length)
        for _ in 0..<length {
            s.append(Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8(random.uniform(below: 10)))))
        }
        return s
    }
}

/// Codes are stored only as HMAC-SHA256(server secret, verification id ‖ code) (RFC 2104) and
/// compared in constant time, so a leaked database gives away no code.
public struct CodeHasher: Sendable {
    /// HMAC keyed with the secret and fed nothing yet: its inner and outer key blocks are hashed
    /// once here (RFC 2104 §2), and each MAC starts from a copy (copy-on-write) instead of keying anew.
    private let keyed: HMAC<SHA256>

    /// `secret` is the server secret (at least 32 bytes recommended).
    public init(secret: [UInt8]) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: secret))
    }

    /// MAC of `code` for verification `id`. A 0x00 separates the two so that no pair collides.
    public func mac(id: String, code: String) -> [UInt8] {
        Array(authenticationCode(id: id, code: code))
    }

    /// Constant-time check of `code` against the stored MAC (`MessageAuthenticationCode`'s `==`).
    public func matches(id: String, code: String, stored: [UInt8]) -> Bool {
        authenticationCode(id: id, code: code) == stored
    }

    private func authenticationCode(id: String, code: String) -> HashedAuthenticationCode<SHA256> {
        var hmac = keyed
        hmac.update(data: Self.message(id: id, code: code))
        return hmac.finalize()
    }

    private static func message(id: String, code: String) -> [UInt8] {
        Array(id.utf8) + [0] + Array(code.utf8)
    }
}
