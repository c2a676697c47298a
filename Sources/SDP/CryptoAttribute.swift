// CryptoAttribute: SDES, the `a=crypto` attribute of RFC 4568 §9.1 that carries an SRTP master
// key in the SDP (so it is only as safe as the signalling: the gateway refuses it over plain
// UDP/TCP unless a peer allows it, README "Encrypted calls"). Parsed strictly, one line at a time
// during offer/answer, so that a line with a suite we do not know is skipped (RFC 4568 §7.1.1)
// while a malformed one is reported with a specific `SDPError`.

import ABNF

/// The SRTP crypto suites Verigate negotiates (RFC 4568 §6.2; RFC 7714 §14.2 for GCM).
public enum SRTPCryptoSuite: String, Equatable, Sendable, CaseIterable {
    /// AES-128 counter mode with an 80-bit HMAC-SHA1 tag (RFC 4568 §6.2.1).
    case aesCM128HMACSHA1_80 = "AES_CM_128_HMAC_SHA1_80"
    /// AES-128 counter mode with a 32-bit HMAC-SHA1 SRTP tag (RFC 4568 §6.2.2).
    case aesCM128HMACSHA1_32 = "AES_CM_128_HMAC_SHA1_32"
    /// AES-128 GCM, 16-octet tag (RFC 7714 §14.2).
    case aeadAES128GCM = "AEAD_AES_128_GCM"

    /// Bytes of master key plus master salt in `inline:`: 16 + 14 (RFC 4568 §6.2.1), 16 + 12 (RFC 7714 §12).
    public var keyLength: Int {
        switch self {
        case .aesCM128HMACSHA1_80, .aesCM128HMACSHA1_32: 30
        case .aeadAES128GCM: 28
        }
    }
}

/// An SRTP master key with its salt. Its descriptions never show the bytes, so a key cannot reach
/// a log through string interpolation of a value that holds it.
public struct SRTPMasterKey: Equatable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Master key || master salt.
    public let bytes: [UInt8]

    /// Wraps key bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// A fresh key for `suite` from the system CSPRNG (RFC 4568 §6.1: a new key per session).
    public static func random(for suite: SRTPCryptoSuite) -> SRTPMasterKey {
        var generator = SystemRandomNumberGenerator()
        return SRTPMasterKey(bytes: (0..<suite.keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// `<SRTP key, N bytes>`: never the bytes.
    public var description: String { "<SRTP key, \(bytes.count) bytes>" }
    /// As `description`.
    public var debugDescription: String { description }
    /// No children, so `dump` shows no bytes either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §9.1).
public struct CryptoAttribute: Equatable, Sendable {
    /// One `inline:` key parameter (RFC 4568 §6.1, §9.2).
    public struct KeyParameter: Equatable, Sendable {
        /// Master key || salt.
        public var key: SRTPMasterKey
        /// The key lifetime as written (`2^31` or a decimal count of packets), if any.
        public var lifetime: String?
        /// The master key identifier and its length in bytes (`MKI:length`), if any.
        public var mki: (value: UInt64, length: Int)?

        /// Creates a key parameter.
        public init(key: SRTPMasterKey, lifetime: String? = nil, mki: (value: UInt64, length: Int)? = nil) {
            self.key = key
            self.lifetime = lifetime
            self.mki = mki
        }

        /// Equal keys, lifetimes and MKIs.
        public static func == (a: KeyParameter, b: KeyParameter) -> Bool {
            a.key == b.key && a.lifetime == b.lifetime && a.mki?.value == b.mki?.value && a.mki?.length == b.mki?.length
        }
    }

    /// The tag, 1–9 digits, that pairs offer and answer lines (RFC 4568 §9.1).
    public var tag: UInt32
    /// The crypto suite.
    public var suite: SRTPCryptoSuite
    /// The key parameters, at least one; several only with MKIs (RFC 4568 §6.1).
    public var keys: [KeyParameter]
    /// Session parameters as written (`KDR=…`, `UNENCRYPTED_SRTP`, `WSH=…`, …; RFC 4568 §6.3).
    public var sessionParameters: [String]

    /// Limits that keep hostile lines small.
    static let maxKeys = 16
    static let maxSessionParameters = 16

    /// Creates an attribute.
    public init(tag: UInt32, suite: SRTPCryptoSuite, key: SRTPMasterKey, sessionParameters: [String] = []) {
        self.tag = tag
        self.suite = suite
        self.keys = [KeyParameter(key: key)]
        self.sessionParameters = sessionParameters
    }

    /// Parses the attribute value (after `crypto:`).
    ///
    /// - Throws: `.unknownCryptoSuite` for a suite not in `SRTPCryptoSuite` (a caller skips the
    ///   line), `.badCrypto` for anything malformed: tag, key method, base64, key length, lifetime, MKI.
    public init(attributeValue: String) throws(SDPError) {
        let fields = attributeValue.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 3 else { throw SDPError(.badCrypto, "crypto needs a tag, a suite and key parameters") }
        guard fields[0].count <= 9, fields[0].utf8.allSatisfy(isASCIIDigit), let tag = UInt32(fields[0]) else {
            throw SDPError(.badCrypto, "crypto tag is not 1 to 9 digits")
        }
        guard let suite = SRTPCryptoSuite(rawValue: String(fields[1])) else {
            throw SDPError(.unknownCryptoSuite, "crypto suite '\(fields[1].prefix(40))' is not supported")
        }
        let keyParameters = fields[2].split(separator: ";", omittingEmptySubsequences: false)
        guard keyParameters.count <= Self.maxKeys else { throw SDPError(.badCrypto, "more than \(Self.maxKeys) crypto keys") }
        var keys: [KeyParameter] = []
        for parameter in keyParameters {
            keys.append(try Self.keyParameter(parameter, suite: suite))
        }
        if keys.count > 1, keys.contains(where: { $0.mki == nil }) {
            throw SDPError(.badCrypto, "several crypto keys need an MKI each (RFC 4568 §6.1)")
        }
        let session = fields.dropFirst(3)
        guard session.count <= Self.maxSessionParameters else { throw SDPError(.badCrypto, "more than \(Self.maxSessionParameters) crypto session parameters") }
        self.tag = tag
        self.suite = suite
        self.keys = keys
        self.sessionParameters = session.map(String.init)
    }

    private static func keyParameter(_ text: Substring, suite: SRTPCryptoSuite) throws(SDPError) -> KeyParameter {
        guard text.hasPrefix("inline:") else { throw SDPError(.badCrypto, "crypto key method is not 'inline:'") }
        let parts = text.dropFirst("inline:".count).split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count <= 3 else { throw SDPError(.badCrypto, "crypto key has more than key|lifetime|MKI") }
        guard let bytes = Base64.decode(parts[0]) else { throw SDPError(.badCrypto, "crypto key is not base64") }
        guard bytes.count == suite.keyLength else {
            throw SDPError(.badCrypto, "\(suite.rawValue) needs \(suite.keyLength) bytes of key and salt, the line has \(bytes.count)")
        }
        var parameter = KeyParameter(key: SRTPMasterKey(bytes: bytes))
        for part in parts.dropFirst() {
            if part.contains(":") {
                guard parameter.mki == nil else { throw SDPError(.badCrypto, "crypto key has two MKIs") }
                let mki = part.split(separator: ":", omittingEmptySubsequences: false)
                guard mki.count == 2, mki[0].count <= 19, mki[1].count <= 3, let value = UInt64(mki[0]), let length = Int(mki[1]),
                      (1...128).contains(length), length >= 8 || value < (UInt64(1) << (8 * length)) else {
                    throw SDPError(.badCrypto, "crypto MKI is not '<value>:<length 1-128>' with the value fitting the length")
                }
                parameter.mki = (value, length)
            } else {
                guard parameter.lifetime == nil, parameter.mki == nil, Self.isLifetime(part) else {
                    throw SDPError(.badCrypto, "crypto key lifetime is not a number or 2^n")
                }
                parameter.lifetime = String(part)
            }
        }
        return parameter
    }

    /// `2^n` (n ≤ 48, RFC 3711 §9.2 limits SRTP to 2^48 packets) or a decimal count.
    private static func isLifetime(_ text: Substring) -> Bool {
        if text.hasPrefix("2^") {
            guard let exponent = Int(text.dropFirst(2)), text.count <= 4 else { return false }
            return (1...48).contains(exponent)
        }
        return text.count <= 15 && !text.isEmpty && text.utf8.allSatisfy(isASCIIDigit) && (UInt64(text) ?? 0) > 0
    }

    /// Whether Verigate can use this line: one key, no MKI, and no session parameter but `WSH`
    /// (RFC 4568 §6.3: an answerer must not accept parameters it does not support).
    public var isUsable: Bool {
        keys.count == 1 && keys[0].mki == nil && sessionParameters.allSatisfy { $0.hasPrefix("WSH=") }
    }

    /// The first key.
    public var key: SRTPMasterKey { keys[0].key }

    /// The attribute value, `1 AES_CM_128_HMAC_SHA1_80 inline:<base64>[|lifetime][|MKI:len]…`.
    public var attributeValue: String {
        let keyText = keys.map { parameter in
            var text = "inline:" + Base64.encode(parameter.key.bytes)
            if let lifetime = parameter.lifetime { text += "|" + lifetime }
            if let mki = parameter.mki { text += "|\(mki.value):\(mki.length)" }
            return text
        }.joined(separator: ";")
        return ([String(tag), suite.rawValue, keyText] + sessionParameters).joined(separator: " ")
    }

    /// The usable `a=crypto` lines of `media` with a suite in `suites`, in the offer's order;
    /// malformed and unknown lines are left out.
    public static func usable(in media: MediaDescription, suites: [SRTPCryptoSuite]) -> [CryptoAttribute] {
        media.attributeValues("crypto").compactMap { value in
            guard let crypto = try? CryptoAttribute(attributeValue: value), crypto.isUsable, suites.contains(crypto.suite) else { return nil }
            return crypto
        }
    }
}

/// Base64 (RFC 4648 §4), as RFC 4568 §9.2 uses for `inline:` keys. Decoding accepts missing
/// padding (some peers leave it out) and nothing else out of the alphabet.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index], b1 = index + 1 < bytes.count ? bytes[index + 1] : 0, b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var chars = Array(text.utf8)
        guard chars.count <= 400 else { return nil }
        var padding = 0
        while chars.last == UInt8(ascii: "=") {
            chars.removeLast()
            padding += 1
        }
        guard padding <= 2, chars.count % 4 != 1, padding == 0 || (chars.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for char in chars {
            let value: UInt8
            switch char {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = char - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = char - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = char - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero (RFC 4648 §3.5, canonical encoding).
        guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}

/// DIGIT of RFC 5234 App. B.1, on bytes (a `Character` check would let other scripts' digits in).
private func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
