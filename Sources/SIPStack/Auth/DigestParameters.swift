// DigestParameters: the auth-param list of a `Digest` challenge or credentials header value
// (RFC 7235 §2.1, RFC 3261 §25.1 digest-cln / dig-resp). Hand-written: a small grammar, and this module
// must not depend on how another target stores header values; limits guard against hostile input.

/// The parsed `Digest name=value, …` list of a WWW-Authenticate, Proxy-Authenticate, Authorization
/// or Proxy-Authorization value (RFC 3261 §20.7, §20.27, §20.28, §20.44; RFC 7616 §3.3, §3.4).
/// Names are lowercased; values are unquoted, with backslash escapes removed.
public struct DigestParameters: Sendable, Equatable {
    /// Longest header value accepted.
    public static let maxLength = 4096
    /// Most parameters accepted.
    public static let maxCount = 32

    /// The parameters in order, names lowercased.
    public private(set) var pairs: [(name: String, value: String)]

    /// The value of parameter `name` (case-insensitive).
    public subscript(name: String) -> String? {
        let key = name.lowercased()
        return pairs.first { $0.name == key }?.value
    }

    /// Creates a list from pairs.
    public init(_ pairs: [(name: String, value: String)]) {
        self.pairs = pairs.map { ($0.name.lowercased(), $0.value) }
    }

    /// Compares names and values in order.
    public static func == (lhs: DigestParameters, rhs: DigestParameters) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// Parses `Digest a=b, c="d"`; the scheme must be `Digest` (case-insensitive, RFC 7235 §2.1).
    public init(parsing header: String) throws(SIPStackError) {
        let bytes = Array(header.utf8)
        guard bytes.count <= Self.maxLength else { throw Self.error("header longer than \(Self.maxLength) bytes") }
        var index = 0
        func skipSpace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D || bytes[index] == 0x0A { index += 1 } }
        func token() -> String {
            let start = index
            while index < bytes.count, Self.isTokenByte(bytes[index]) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        skipSpace()
        let scheme = token()
        guard scheme.lowercased() == "digest" else { throw Self.error("scheme is not Digest") }
        var pairs: [(name: String, value: String)] = []
        skipSpace()
        while index < bytes.count {
            let name = token().lowercased()
            guard !name.isEmpty else { throw Self.error("expected a parameter name at byte \(index)") }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw Self.error("expected '=' after \(name)") }
            index += 1
            skipSpace()
            var value: [UInt8] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\") {
                        guard index + 1 < bytes.count else { break }
                        value.append(bytes[index + 1])
                        index += 2
                    } else if byte == UInt8(ascii: "\"") {
                        index += 1
                        closed = true
                        break
                    } else {
                        value.append(byte)
                        index += 1
                    }
                }
                guard closed else { throw Self.error("unterminated quoted value for \(name)") }
            } else {
                let start = index
                while index < bytes.count, Self.isTokenByte(bytes[index]) || bytes[index] == UInt8(ascii: "/") { index += 1 }
                value = Array(bytes[start..<index])
                guard !value.isEmpty else { throw Self.error("empty value for \(name)") }
            }
            guard !pairs.contains(where: { $0.name == name }) else { throw Self.error("duplicate parameter \(name)") }
            pairs.append((name, String(decoding: value, as: UTF8.self)))
            guard pairs.count <= Self.maxCount else { throw Self.error("more than \(Self.maxCount) parameters") }
            skipSpace()
            if index < bytes.count {
                guard bytes[index] == UInt8(ascii: ",") else { throw Self.error("expected ',' at byte \(index)") }
                index += 1
                skipSpace()
            }
        }
        guard !pairs.isEmpty else { throw Self.error("no parameters") }
        self.pairs = pairs
    }

    /// Serializes as `Digest name=value, …`, quoting the names in `quoted` (RFC 3261 §25.1 decides which).
    public func headerValue(quoted: Set<String>) -> String {
        "Digest " + pairs.map { pair in
            quoted.contains(pair.name) ? "\(pair.name)=\(Self.quote(pair.value))" : "\(pair.name)=\(pair.value)"
        }.joined(separator: ", ")
    }

    static func quote(_ value: String) -> String {
        var out = "\""
        for character in value {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }

    /// RFC 3261 §25.1 token characters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "%"), UInt8(ascii: "*"), UInt8(ascii: "_"),
             UInt8(ascii: "+"), UInt8(ascii: "`"), UInt8(ascii: "'"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func error(_ detail: String) -> SIPStackError { SIPStackError(.malformedDigestHeader, detail) }
}
