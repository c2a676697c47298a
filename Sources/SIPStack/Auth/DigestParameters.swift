// DigestParameters: the auth-param list of a `Digest` challenge or credentials header value
// (RFC 7235 §2.1, RFC 3261 §25.1 digest-cln / dig-resp), on top of SIPMessage's SIPAuthValue grammar.

import SIPMessage

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

    /// Parses `Digest a=b, c="d"`; the scheme must be `Digest` (case-insensitive, RFC 7235 §2.1). The
    /// auth-param grammar is SIPMessage's `SIPAuthValue`; this adds the Digest rules and limits.
    public init(parsing header: String) throws(SIPStackError) {
        guard header.utf8.count <= Self.maxLength else { throw Self.error("header longer than \(Self.maxLength) bytes") }
        let value: SIPAuthValue
        do {
            value = try SIPAuthValue(parsing: header)
        } catch {
            throw Self.error("\(error)")
        }
        try self.init(value)
    }

    /// Takes the parameters of a parsed `SIPAuthValue` (as `SIPHeaders.wwwAuthenticate()` and the
    /// like return them), checking the scheme, duplicates and the parameter count.
    public init(_ value: SIPAuthValue) throws(SIPStackError) {
        guard value.scheme.lowercased() == "digest" else { throw Self.error("scheme is not Digest") }
        guard !value.parameters.isEmpty else { throw Self.error("no parameters") }
        guard value.parameters.count <= Self.maxCount else { throw Self.error("more than \(Self.maxCount) parameters") }
        var pairs: [(name: String, value: String)] = []
        for parameter in value.parameters {
            let name = parameter.name.lowercased()
            guard !pairs.contains(where: { $0.name == name }) else { throw Self.error("duplicate parameter \(name)") }
            guard let unquoted = value[parameter.name] else { throw Self.error("parameter \(name) without value") }
            pairs.append((name, unquoted))
        }
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

    private static func error(_ detail: String) -> SIPStackError { SIPStackError(.malformedDigestHeader, detail) }
}
