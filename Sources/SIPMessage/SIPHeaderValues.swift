// Small typed header values: CSeq, media types and ranges, auth challenges/credentials
// (RFC 3261 §20.1, §20.15, §20.16, §20.7, §20.27, §20.44, §25.1).

/// CSeq (RFC 3261 §20.16): `1*DIGIT LWS Method`, the number below 2**31 (§8.1.1.5).
public struct SIPCSeq: Hashable, Sendable, CustomStringConvertible {
    /// The sequence number.
    public var sequence: UInt32
    /// The method.
    public var method: SIPMethod

    /// Makes a CSeq.
    public init(_ sequence: UInt32, _ method: SIPMethod) {
        self.sequence = sequence
        self.method = method
    }

    /// `sequence METHOD`.
    public var description: String { "\(sequence) \(method)" }

    static func parse(_ bytes: [UInt8]) throws(SIPParseError) -> SIPCSeq {
        var s = ByteScanner(bytes, header: .cseq)
        let digits = s.take(while: isDigit)
        guard !digits.isEmpty else { throw s.fail("Missing Number") }
        var value: UInt64 = 0
        for d in digits {
            value = value * 10 + UInt64(d - 0x30)
            guard value < 1 << 31 else { throw s.fail("Number Out Of Range") }
        }
        let before = s.index
        s.skipWhitespace()
        guard s.index > before else { throw s.fail("Expected LWS") }
        let method = try s.requireToken("Method")
        try s.expectEnd()
        return SIPCSeq(UInt32(value), SIPMethod(method))
    }
}

/// A media type with parameters: Content-Type (RFC 3261 §20.15, `m-type SLASH m-subtype *(SEMI m-parameter)`)
/// and, with `*` allowed, an Accept range (§20.1).
public struct SIPMediaType: Hashable, Sendable, CustomStringConvertible {
    /// The type (`application`, or `*` in Accept).
    public var type: String
    /// The subtype (`sdp`, or `*` in Accept).
    public var subtype: String
    /// Parameters (`charset`, `boundary`, `q` in Accept).
    public var parameters: SIPParameters

    /// Makes a media type.
    public init(type: String, subtype: String, parameters: SIPParameters = []) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    /// application/sdp (RFC 4566).
    public static let sdp = SIPMediaType(type: "application", subtype: "sdp")

    /// `type/subtype` in lower case, without parameters.
    public var essence: String { "\(type.lowercased())/\(subtype.lowercased())" }

    /// `type/subtype;params`.
    public var description: String { "\(type)/\(subtype)\(parameters.description)" }

    /// Parses one media type from text.
    public init(parsing text: String) throws(SIPParseError) {
        var s = ByteScanner(text, header: .contentType)
        s.skipWhitespace()
        self = try Self.parse(&s, allowWildcards: false)
        try s.expectEnd()
    }

    /// True when this (an Accept range) matches a concrete type (§20.1, RFC 2616 §14.1), q > 0.
    public func accepts(_ concrete: SIPMediaType) -> Bool {
        if let q = parameters["q"], let value = Double(q), value <= 0 { return false }
        let typeOK = type == "*" || type.lowercased() == concrete.type.lowercased()
        let subOK = subtype == "*" || subtype.lowercased() == concrete.subtype.lowercased()
        return typeOK && subOK
    }

    static func parse(_ s: inout ByteScanner, allowWildcards: Bool) throws(SIPParseError) -> SIPMediaType {
        let type = try s.requireToken("Media Type")
        guard s.separator(UInt8(ascii: "/")) else { throw s.fail("Expected /") }
        let subtype = try s.requireToken("Media Subtype")
        if !allowWildcards, type == "*" || subtype == "*" { throw s.fail("Wildcard Media Type") }
        return SIPMediaType(type: type, subtype: subtype, parameters: try SIPParameters.parseHeaderParameters(&s))
    }
}

/// A challenge or credentials: `auth-scheme LWS auth-param *(COMMA auth-param)`
/// (RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1; RFC 7616 for Digest).
public struct SIPAuthValue: Hashable, Sendable, CustomStringConvertible {
    /// The scheme (`Digest`, or any other token).
    public var scheme: String
    /// The auth-params in order; values as written (quoted-strings keep their quotes).
    public var parameters: [SIPParameters.Parameter]

    /// Makes a value.
    public init(scheme: String, parameters: [SIPParameters.Parameter]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// A parameter's value with quotes removed (`realm`, `nonce`, `qop`, `algorithm`, `response`, …).
    public subscript(_ name: String) -> String? {
        parameters.first { $0.name.equalsIgnoringASCIICase(name) }?.value.map(unquote)
    }

    /// `scheme name=value, name=value`.
    public var description: String {
        scheme + " " + parameters.map { "\($0.name)=\($0.value ?? "")" }.joined(separator: ", ")
    }

    /// Parses a value from text.
    public init(parsing text: String, header: SIPHeaderName = .authorization) throws(SIPParseError) {
        var s = ByteScanner(text, header: header)
        s.skipWhitespace()
        self.scheme = try s.requireToken("Auth Scheme")
        self.parameters = []
        s.skipWhitespace()
        guard !s.atEnd else { return }
        repeat {
            let name = try s.requireToken("Auth Param")
            guard s.separator(UInt8(ascii: "=")) else { throw s.fail("Expected =") }
            let value: String
            if s.peek == UInt8(ascii: "\"") {
                value = try s.quotedString().raw
            } else {
                // token68-ish values (Basic) and tokens.
                let v = s.take { SIPMessageParser.isTokenChar($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: ":") }
                guard !v.isEmpty else { throw s.fail("Empty Auth Param") }
                value = v.string
            }
            parameters.append(.init(name: name, value: value))
        } while s.separator(UInt8(ascii: ","))
        try s.expectEnd()
    }
}

/// Standard reason phrases (RFC 3261 §21 and extensions).
public enum SIPStatus {
    /// The phrase for a status code; "Unknown" for unassigned codes.
    public static func reasonPhrase(for code: Int) -> String {
        switch code {
        case 100: "Trying"
        case 180: "Ringing"
        case 181: "Call Is Being Forwarded"
        case 182: "Queued"
        case 183: "Session Progress"
        case 200: "OK"
        case 202: "Accepted"
        case 300: "Multiple Choices"
        case 301: "Moved Permanently"
        case 302: "Moved Temporarily"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 410: "Gone"
        case 413: "Request Entity Too Large"
        case 415: "Unsupported Media Type"
        case 416: "Unsupported URI Scheme"
        case 420: "Bad Extension"
        case 421: "Extension Required"
        case 423: "Interval Too Brief"
        case 480: "Temporarily Unavailable"
        case 481: "Call/Transaction Does Not Exist"
        case 482: "Loop Detected"
        case 483: "Too Many Hops"
        case 484: "Address Incomplete"
        case 486: "Busy Here"
        case 487: "Request Terminated"
        case 488: "Not Acceptable Here"
        case 491: "Request Pending"
        case 500: "Server Internal Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Server Time-out"
        case 505: "Version Not Supported"
        case 513: "Message Too Large"
        case 600: "Busy Everywhere"
        case 603: "Decline"
        case 604: "Does Not Exist Anywhere"
        case 606: "Not Acceptable"
        default: "Unknown"
        }
    }
}
