// SIP and SIPS URIs (RFC 3261 §19.1, grammar §25.1), tel URIs (RFC 3966) and other absolute URIs.
// Written by hand: Foundation's URL does not know SIP's userinfo/parameter/header rules or escapes.

/// A URI as found in a Request-URI or name-addr: `sip:`/`sips:`, `tel:` or any other absoluteURI
/// (RFC 3261 §25.1 `Request-URI = SIP-URI / SIPS-URI / absoluteURI`).
public enum SIPAnyURI: Hashable, Sendable, CustomStringConvertible {
    /// A SIP or SIPS URI, RFC 3261 §19.1.
    case sip(SIPURI)
    /// A tel URI, RFC 3966.
    case tel(TelURI)
    /// Any other absoluteURI (RFC 2396), kept opaque.
    case absolute(AbsoluteURI)

    /// Parses a URI from text.
    public init(parsing text: String) throws(SIPParseError) {
        try self.init(bytes: Array(text.utf8)[...])
    }

    init(bytes: ArraySlice<UInt8>) throws(SIPParseError) {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > bytes.startIndex else { throw .uri("Missing Scheme") }
        let scheme = bytes[bytes.startIndex..<colon]
        guard isAlpha(scheme[scheme.startIndex]), scheme.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else {
            throw .uri("Bad Scheme")
        }
        let lower = scheme.string.lowercased()
        let rest = bytes[(colon + 1)...]
        switch lower {
        case "sip", "sips": self = .sip(try SIPURI(rest: rest, isSecure: lower == "sips"))
        case "tel": self = .tel(try TelURI(rest: rest))
        default: self = .absolute(try AbsoluteURI(scheme: scheme.string, rest: rest))
        }
    }

    /// The scheme in lower case (`sip`, `sips`, `tel`, …).
    public var scheme: String {
        switch self {
        case .sip(let u): u.isSecure ? "sips" : "sip"
        case .tel: "tel"
        case .absolute(let u): u.scheme.lowercased()
        }
    }

    /// The SIP URI, if this is one.
    public var sipURI: SIPURI? {
        if case .sip(let u) = self { return u }
        return nil
    }

    /// The URI text with the escapes its grammar needs.
    public var description: String {
        switch self {
        case .sip(let u): u.description
        case .tel(let u): u.description
        case .absolute(let u): u.description
        }
    }
}

/// A `sip:` or `sips:` URI (RFC 3261 §19.1.1): `sip:user:password@host:port;uri-parameters?headers`.
///
/// Components hold unescaped text; `description` escapes what the grammar requires (§19.1.2).
public struct SIPURI: Hashable, Sendable, CustomStringConvertible {
    /// True for `sips:` (§19.1).
    public var isSecure: Bool
    /// The user part, unescaped (may hold any octet, even NUL, RFC 4475 §3.1.1.4).
    public var user: String?
    /// The password, unescaped (its use is NOT RECOMMENDED, §19.1.1).
    public var password: String?
    /// The host: a hostname, IPv4 address or IPv6 address (without brackets).
    public var host: String
    /// The port, when given.
    public var port: Int?
    /// URI parameters (`transport`, `user`, `method`, `ttl`, `maddr`, `lr`, …), unescaped.
    public var parameters: SIPParameters
    /// URI headers (`?hname=hvalue&…`), unescaped.
    public var headers: [SIPParameters.Parameter]

    /// Makes a SIP URI.
    public init(user: String? = nil, password: String? = nil, host: String, port: Int? = nil, isSecure: Bool = false, parameters: SIPParameters = [], headers: [SIPParameters.Parameter] = []) {
        self.isSecure = isSecure
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.parameters = parameters
        self.headers = headers
    }

    /// Parses a `sip:`/`sips:` URI from text.
    public init(parsing text: String) throws(SIPParseError) {
        guard case .sip(let u) = try SIPAnyURI(parsing: text) else { throw .uri("Not A SIP URI") }
        self = u
    }

    /// The `transport` parameter (§19.1.1), lower-cased.
    public var transport: String? { parameters["transport"]?.lowercased() }
    /// True with the `lr` parameter (loose routing, §19.1.1).
    public var isLooseRouting: Bool { parameters.contains("lr") }
    /// The `maddr` parameter.
    public var maddr: String? { parameters["maddr"] }

    /// `host` with IPv6 brackets when needed (for sent-by and Host use).
    public var hostport: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(h):\($0)" } ?? h
    }

    init(rest: ArraySlice<UInt8>, isSecure: Bool) throws(SIPParseError) {
        self.isSecure = isSecure
        var hostStart = rest.startIndex
        user = nil
        password = nil
        if let at = rest.firstIndex(of: UInt8(ascii: "@")) {
            let userinfo = rest[rest.startIndex..<at]
            if let colon = userinfo.firstIndex(of: UInt8(ascii: ":")) {
                user = try unescape(userinfo[userinfo.startIndex..<colon], allowed: isUserChar, what: "User")
                password = try unescape(userinfo[(colon + 1)...], allowed: isPasswordChar, what: "Password")
            } else {
                user = try unescape(userinfo, allowed: isUserChar, what: "User")
            }
            guard !(user ?? "").isEmpty || userinfo.first == UInt8(ascii: ":") else { throw .uri("Empty User") }
            hostStart = at + 1
        }
        var i = hostStart
        // host = hostname / IPv4address / IPv6reference
        if i < rest.endIndex, rest[i] == UInt8(ascii: "[") {
            guard let close = rest[i...].firstIndex(of: UInt8(ascii: "]")) else { throw .uri("Unterminated IPv6 Reference") }
            let inner = rest[(i + 1)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }), inner.contains(UInt8(ascii: ":")) else {
                throw .uri("Bad IPv6 Reference")
            }
            host = inner.string
            i = close + 1
        } else {
            let start = i
            while i < rest.endIndex, isAlphanumeric(rest[i]) || rest[i] == UInt8(ascii: "-") || rest[i] == UInt8(ascii: ".") { i += 1 }
            guard i > start else { throw .uri("Missing Host") }
            host = rest[start..<i].string
        }
        port = nil
        if i < rest.endIndex, rest[i] == UInt8(ascii: ":") {
            i += 1
            let start = i
            var value = 0
            while i < rest.endIndex, isDigit(rest[i]) {
                value = value * 10 + Int(rest[i] - 0x30)
                guard value <= 65_535 else { throw .uri("Port Out Of Range") }
                i += 1
            }
            guard i > start else { throw .uri("Empty Port") }
            port = value
        }
        parameters = SIPParameters()
        while i < rest.endIndex, rest[i] == UInt8(ascii: ";") {
            i += 1
            let start = i
            while i < rest.endIndex, rest[i] != UInt8(ascii: ";"), rest[i] != UInt8(ascii: "?") { i += 1 }
            let param = rest[start..<i]
            if let eq = param.firstIndex(of: UInt8(ascii: "=")) {
                let name = try unescape(param[param.startIndex..<eq], allowed: isParamChar, what: "Parameter")
                let value = try unescape(param[(eq + 1)...], allowed: isParamChar, what: "Parameter")
                guard !name.isEmpty, !value.isEmpty else { throw .uri("Empty Parameter") }
                parameters.items.append(.init(name: name, value: value))
            } else {
                let name = try unescape(param, allowed: isParamChar, what: "Parameter")
                guard !name.isEmpty else { throw .uri("Empty Parameter") }
                parameters.items.append(.init(name: name, value: nil))
            }
        }
        headers = []
        if i < rest.endIndex, rest[i] == UInt8(ascii: "?") {
            i += 1
            for part in rest[i...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
                guard let eq = part.firstIndex(of: UInt8(ascii: "=")) else { throw .uri("Bad Header") }
                let name = try unescape(part[part.startIndex..<eq], allowed: isHeaderChar, what: "Header")
                guard !name.isEmpty else { throw .uri("Bad Header") }
                headers.append(.init(name: name, value: try unescape(part[(eq + 1)...], allowed: isHeaderChar, what: "Header")))
            }
            i = rest.endIndex
        }
        guard i == rest.endIndex else { throw .uri("Unexpected Characters") }
    }

    /// The URI text, escaping per §19.1.2.
    public var description: String {
        var out = isSecure ? "sips:" : "sip:"
        if let user {
            out += escape(user, allowed: isUserChar)
            if let password { out += ":" + escape(password, allowed: isPasswordChar) }
            out += "@"
        }
        out += hostport
        for p in parameters {
            out += ";" + escape(p.name, allowed: isParamChar)
            if let v = p.value { out += "=" + escape(v, allowed: isParamChar) }
        }
        if !headers.isEmpty {
            out += "?" + headers.map { escape($0.name, allowed: isHeaderChar) + "=" + escape($0.value ?? "", allowed: isHeaderChar) }.joined(separator: "&")
        }
        return out
    }
}

/// A tel URI (RFC 3966 §3): `tel:+1-201-555-0123;ext=1234` or a local number with `phone-context`.
public struct TelURI: Hashable, Sendable, CustomStringConvertible {
    /// The number as written, with visual separators, including a leading `+` for global numbers.
    public var number: String
    /// Parameters (`ext`, `isub`, `phone-context`, …), unescaped.
    public var parameters: SIPParameters

    /// Makes a tel URI.
    public init(number: String, parameters: SIPParameters = []) {
        self.number = number
        self.parameters = parameters
    }

    /// True for a global number (starts with `+`, RFC 3966 §5.1.4).
    public var isGlobal: Bool { number.hasPrefix("+") }

    /// The number without visual separators (`-`, `.`, `(`, `)`), RFC 3966 §5.1.1.
    public var digits: String { String(number.filter { !"-.()".contains($0) }) }

    init(rest: ArraySlice<UInt8>) throws(SIPParseError) {
        let end = rest.firstIndex(of: UInt8(ascii: ";")) ?? rest.endIndex
        let num = rest[rest.startIndex..<end]
        let global = num.first == UInt8(ascii: "+")
        let digitsPart = global ? num.dropFirst() : num
        guard digitsPart.contains(where: { global ? isDigit($0) : (isHex($0) || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "#")) }),
              digitsPart.allSatisfy({ c in
                  let separator = c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "(") || c == UInt8(ascii: ")")
                  return separator || (global ? isDigit(c) : (isHex(c) || c == UInt8(ascii: "*") || c == UInt8(ascii: "#")))
              })
        else { throw .uri("Bad Telephone Number") }
        number = num.string
        parameters = SIPParameters()
        if end < rest.endIndex {
            for part in rest[(end + 1)...].split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false) {
                let eq = part.firstIndex(of: UInt8(ascii: "=")) ?? part.endIndex
                let name = part[part.startIndex..<eq]
                guard !name.isEmpty, name.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else { throw .uri("Bad tel Parameter") }
                var value: String?
                if eq < part.endIndex {
                    value = try unescape(part[(eq + 1)...], allowed: isParamChar, what: "Parameter")
                    guard !(value ?? "").isEmpty else { throw .uri("Empty tel Parameter") }
                }
                parameters.items.append(.init(name: name.string, value: value))
            }
        }
        // RFC 3966 §5.1.5: local numbers MUST carry phone-context.
        guard global || parameters.contains("phone-context") else { throw .uri("Local Number Without phone-context") }
    }

    /// The URI text.
    public var description: String {
        var out = "tel:" + number
        for p in parameters {
            out += ";" + p.name
            if let v = p.value { out += "=" + escape(v, allowed: isParamChar) }
        }
        return out
    }
}

/// An absoluteURI of a scheme this module does not interpret (RFC 3261 §25.1, RFC 2396), e.g. `http:`, `isbn:`.
public struct AbsoluteURI: Hashable, Sendable, CustomStringConvertible {
    /// The scheme as written.
    public var scheme: String
    /// Everything after the colon, as written.
    public var opaque: String

    /// Makes an absolute URI.
    public init(scheme: String, opaque: String) {
        self.scheme = scheme
        self.opaque = opaque
    }

    init(scheme: String, rest: ArraySlice<UInt8>) throws(SIPParseError) {
        guard !rest.isEmpty, rest.allSatisfy({ $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "\"") }) else {
            throw .uri("Bad Absolute URI")
        }
        self.scheme = scheme
        self.opaque = rest.string
    }

    /// `scheme:opaque`.
    public var description: String { scheme + ":" + opaque }
}

// MARK: - Character classes of RFC 3261 §25.1

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
@inline(__always) func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
@inline(__always) func isAlphanumeric(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
@inline(__always) func isHex(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) }

/// `unreserved = alphanum / mark`, `mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"`.
func isUnreserved(_ c: UInt8) -> Bool {
    if isAlphanumeric(c) { return true }
    switch c {
    case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "~"), UInt8(ascii: "*"),
         UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"):
        return true
    default:
        return false
    }
}

/// `user = 1*( unreserved / escaped / user-unreserved )`, `user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"`.
func isUserChar(_ c: UInt8) -> Bool {
    isUnreserved(c) || "&=+$,;?/".utf8.contains(c)
}

/// `password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )`.
func isPasswordChar(_ c: UInt8) -> Bool {
    isUnreserved(c) || "&=+$,".utf8.contains(c)
}

/// `paramchar = param-unreserved / unreserved / escaped`, `param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"`.
func isParamChar(_ c: UInt8) -> Bool {
    isUnreserved(c) || "[]/:&+$".utf8.contains(c)
}

/// `hnv-unreserved / unreserved`, `hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"`.
func isHeaderChar(_ c: UInt8) -> Bool {
    isUnreserved(c) || "[]/?:+$".utf8.contains(c)
}

/// Decodes `escaped = "%" HEXDIG HEXDIG` and checks every other octet is allowed.
func unescape(_ bytes: ArraySlice<UInt8>, allowed: (UInt8) -> Bool, what: String) throws(SIPParseError) -> String {
    guard bytes.contains(UInt8(ascii: "%")) else {
        guard bytes.allSatisfy(allowed) else { throw .uri("Bad Character In \(what)") }
        return bytes.string
    }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = bytes.startIndex
    while i < bytes.endIndex {
        let c = bytes[i]
        if c == UInt8(ascii: "%") {
            guard i + 2 < bytes.endIndex, isHex(bytes[i + 1]), isHex(bytes[i + 2]) else {
                throw .uri("Bad Escape In \(what)")
            }
            out.append(hexValue(bytes[i + 1]) << 4 | hexValue(bytes[i + 2]))
            i += 3
        } else {
            guard allowed(c) else { throw .uri("Bad Character In \(what)") }
            out.append(c)
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

func hexValue(_ c: UInt8) -> UInt8 {
    isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10
}

/// Escapes every octet not allowed by the component grammar (§19.1.2).
func escape(_ text: String, allowed: (UInt8) -> Bool) -> String {
    guard !text.utf8.allSatisfy(allowed) else { return text }
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for c in text.utf8 {
        if allowed(c) { out.append(c) } else { out += [UInt8(ascii: "%"), hex[Int(c >> 4)], hex[Int(c & 0xF)]] }
    }
    return String(decoding: out, as: UTF8.self)
}
