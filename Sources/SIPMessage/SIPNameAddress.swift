// name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route,
// P-Asserted-Identity, Remote-Party-ID (RFC 3261 §20.10, §20.20, §20.39, §25.1).

/// An address with optional display name and header parameters (RFC 3261 §25.1):
/// `( name-addr / addr-spec ) *( SEMI param )`, `name-addr = [ display-name ] LAQUOT addr-spec RAQUOT`.
public struct SIPNameAddress: Hashable, Sendable, CustomStringConvertible {
    /// The display name, unquoted and unescaped; nil when absent.
    public var displayName: String?
    /// The URI.
    public var uri: SIPAnyURI
    /// Header parameters (`tag`, `expires`, `q`, …) as written.
    public var parameters: SIPParameters

    /// Makes an address.
    public init(displayName: String? = nil, uri: SIPAnyURI, parameters: SIPParameters = []) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    /// The `tag` parameter of From and To (§19.3).
    public var tag: String? {
        get { parameters["tag"] }
        set { parameters["tag"] = newValue }
    }

    /// Parses one address with its parameters from a header value.
    public init(parsing text: String, header: SIPHeaderName? = nil) throws(SIPParseError) {
        var s = ByteScanner(text, header: header ?? .to)
        s.skipWhitespace()
        self = try Self.parse(&s)
        try s.expectEnd()
    }

    /// Parses `(name-addr / addr-spec) *(SEMI param)` at the scanner.
    static func parse(_ s: inout ByteScanner) throws(SIPParseError) -> SIPNameAddress {
        var display: String?
        var bracketed = false
        if s.peek == UInt8(ascii: "\"") {
            display = try s.quotedString().text
            s.skipWhitespace()  // LAQUOT = SWS "<"
            guard s.consume(UInt8(ascii: "<")) else { throw s.fail("Expected < After Display Name") }
            bracketed = true
        } else if s.peek == UInt8(ascii: "<") {
            s.index += 1
            bracketed = true
        } else {
            // display-name = *(token LWS): tokens then "<"; otherwise this is an addr-spec.
            let save = s.index
            var words: [String] = []
            while let t = s.token() {
                words.append(t)
                s.skipWhitespace()
            }
            if !words.isEmpty, s.consume(UInt8(ascii: "<")) {
                display = words.joined(separator: " ")
                bracketed = true
            } else {
                s.index = save
            }
        }
        let uri: SIPAnyURI
        if bracketed {
            // addr-spec inside <> carries no whitespace (RFC 4475 §3.1.2.14).
            let start = s.index
            while let c = s.peek, c != UInt8(ascii: ">") {
                guard !ByteScanner.isWhitespace(c) else { throw s.fail("Whitespace In addr-spec") }
                s.index += 1
            }
            guard s.consume(UInt8(ascii: ">")) else { throw s.fail("Missing >") }
            uri = try parseURI(s.bytes[start..<(s.index - 1)], s)
        } else {
            // addr-spec without <>: no ",", "?" or ";" inside (§20.10; RFC 4475 §3.1.2.13).
            let start = s.index
            while let c = s.peek, c != UInt8(ascii: ";"), c != UInt8(ascii: ","), !ByteScanner.isWhitespace(c) {
                guard c != UInt8(ascii: "?") else { throw s.fail("URI With Headers Must Be In <>") }
                s.index += 1
            }
            guard s.index > start else { throw s.fail("Missing URI") }
            uri = try parseURI(s.bytes[start..<s.index], s)
        }
        let parameters = try SIPParameters.parseHeaderParameters(&s)
        return SIPNameAddress(displayName: display, uri: uri, parameters: parameters)
    }

    private static func parseURI(_ bytes: ArraySlice<UInt8>, _ s: ByteScanner) throws(SIPParseError) -> SIPAnyURI {
        do {
            return try SIPAnyURI(bytes: bytes)
        } catch {
            throw s.fail(error.reasonPhrase)
        }
    }

    /// Renders the address in name-addr form (always with `<>`, §20.10), display name quoted.
    public var description: String {
        var out = ""
        if let displayName { out += quote(displayName) + " " }
        return out + "<" + uri.description + ">" + parameters.description
    }
}

/// Contact header value (RFC 3261 §20.10): `"*"` (REGISTER removal) or addresses.
public enum SIPContact: Hashable, Sendable {
    /// `Contact: *`.
    case all
    /// One or more contact addresses with their `q` and `expires` parameters.
    case addresses([SIPNameAddress])
}
