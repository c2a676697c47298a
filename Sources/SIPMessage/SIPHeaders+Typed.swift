// Typed, lazily parsed access to the header fields the stack uses (RFC 3261 §20, RFC 3325, RFC 3323).

extension SIPHeaders {
    /// Every Via value in order, rows and comma lists flattened (RFC 3261 §20.42, §7.3.1).
    public func via() throws(SIPParseError) -> [SIPVia] {
        var out: [SIPVia] = []
        for raw in rawValues(.via) { out += try SIPVia.parseList(raw) }
        return out
    }

    /// The topmost Via value (the one a transaction is matched by, §17.1.3, §17.2.3).
    public func topVia() throws(SIPParseError) -> SIPVia {
        guard let first = firstRawValue(.via) else { throw .value(.via, "Missing") }
        var s = ByteScanner(first.bytes, header: .via)
        s.skipWhitespace()
        return try SIPVia.parse(&s)
    }

    /// From (§20.20): exactly one name-addr/addr-spec with parameters.
    public func from() throws(SIPParseError) -> SIPNameAddress { try single(.from) }

    /// To (§20.39): exactly one name-addr/addr-spec with parameters.
    public func to() throws(SIPParseError) -> SIPNameAddress { try single(.to) }

    /// Call-ID (§20.8): `word [ "@" word ]`.
    public func callID() throws(SIPParseError) -> String {
        let raw = try singleRaw(.callID)
        // word [ "@" word ], one pass: every byte a word character, at most one "@" with a word on each side.
        var at: Int?
        for (i, c) in raw.enumerated() {
            if c == UInt8(ascii: "@") {
                guard at == nil else { throw .value(.callID) }
                at = i
            } else if !SIPMessageParser.isTokenChar(c) && !Self.callIDWordExtras.contains(c) {
                throw .value(.callID)
            }
        }
        guard !raw.isEmpty, at.map({ $0 > 0 && $0 < raw.count - 1 }) ?? true else { throw .value(.callID) }
        return String(decoding: raw, as: UTF8.self)
    }

    /// CSeq (§20.16).
    public func cseq() throws(SIPParseError) -> SIPCSeq { try SIPCSeq.parse(try singleRaw(.cseq)) }

    /// Max-Forwards (§20.22), 0–255; nil when absent.
    public func maxForwards() throws(SIPParseError) -> Int? {
        guard contains(.maxForwards) else { return nil }
        let raw = try singleRaw(.maxForwards)
        guard !raw.isEmpty, raw.allSatisfy(isDigit), raw.count <= 10, let v = Int(String(decoding: raw, as: UTF8.self)), v <= 255 else {
            throw .value(.maxForwards, "Out Of Range")
        }
        return v
    }

    /// Content-Length (§20.14); nil when absent.
    public func contentLength() throws(SIPParseError) -> Int? {
        guard contains(.contentLength) else { return nil }
        let raw = try singleRaw(.contentLength)
        guard !raw.isEmpty, raw.count <= 9, raw.allSatisfy(isDigit), let v = Int(String(decoding: raw, as: UTF8.self)) else { throw .value(.contentLength) }
        return v
    }

    /// Content-Type (§20.15); nil when absent.
    public func contentType() throws(SIPParseError) -> SIPMediaType? {
        guard contains(.contentType) else { return nil }
        var s = ByteScanner(try singleRaw(.contentType), header: .contentType)
        let t = try SIPMediaType.parse(&s, allowWildcards: false)
        try s.expectEnd()
        return t
    }

    /// Accept ranges (§20.1); nil when absent, empty when present and empty (nothing acceptable).
    public func accept() throws(SIPParseError) -> [SIPMediaType]? {
        guard contains(.accept) else { return nil }
        var out: [SIPMediaType] = []
        for raw in rawValues(.accept) where !raw.isEmpty {
            var s = ByteScanner(raw, header: .accept)
            out += try s.list { (s: inout ByteScanner) throws(SIPParseError) in try SIPMediaType.parse(&s, allowWildcards: true) }
        }
        return out
    }

    /// Contact (§20.10): `*` or addresses; nil when absent.
    public func contact() throws(SIPParseError) -> SIPContact? {
        let rows = rawValues(.contact)
        guard !rows.isEmpty else { return nil }
        if rows.count == 1, rows[0] == [UInt8(ascii: "*")] { return .all }
        return .addresses(try addresses(.contact))
    }

    /// Route values in order (§20.34).
    public func route() throws(SIPParseError) -> [SIPNameAddress] { try addresses(.route) }
    /// Record-Route values in order (§20.30).
    public func recordRoute() throws(SIPParseError) -> [SIPNameAddress] { try addresses(.recordRoute) }
    /// P-Asserted-Identity values (RFC 3325 §9.1): one or two (a SIP/SIPS and a tel URI).
    public func pAssertedIdentity() throws(SIPParseError) -> [SIPNameAddress] { try addresses(.pAssertedIdentity) }
    /// P-Preferred-Identity values (RFC 3325 §9.2).
    public func pPreferredIdentity() throws(SIPParseError) -> [SIPNameAddress] { try addresses(.pPreferredIdentity) }
    /// Remote-Party-ID values (draft-ietf-sip-privacy-04: name-addr with `party`, `screen`, `privacy`).
    public func remotePartyID() throws(SIPParseError) -> [SIPNameAddress] { try addresses(.remotePartyID) }
    /// Diversion values, most recent redirection first (RFC 5806 §4): each is the party that
    /// diverted the call (a trunk's DID that forwarded to us).
    public func diversion() throws(SIPParseError) -> [SIPNameAddress] { try addresses(SIPHeaderName("Diversion")) }
    /// History-Info entries in order (RFC 7044 §4): the first is the target originally requested.
    public func historyInfo() throws(SIPParseError) -> [SIPNameAddress] { try addresses(SIPHeaderName("History-Info")) }

    /// Require option tags (§20.32).
    public func require() throws(SIPParseError) -> [String] { try tokens(.require) }
    /// Supported option tags (§20.37).
    public func supported() throws(SIPParseError) -> [String] { try tokens(.supported) }
    /// Proxy-Require option tags (§20.29).
    public func proxyRequire() throws(SIPParseError) -> [String] { try tokens(.proxyRequire) }
    /// Unsupported option tags (§20.40).
    public func unsupported() throws(SIPParseError) -> [String] { try tokens(.unsupported) }
    /// Allow methods (§20.5).
    public func allow() throws(SIPParseError) -> [SIPMethod] { try tokens(.allow).map(SIPMethod.init) }

    /// Privacy values (RFC 3323 §4.2: `priv-value *(";" priv-value)`), e.g. `id`, `none`.
    public func privacy() throws(SIPParseError) -> [String] {
        var out: [String] = []
        for raw in rawValues(.privacy) {
            var s = ByteScanner(raw, header: .privacy)
            repeat { out.append(try s.requireToken("priv-value")) } while s.separator(UInt8(ascii: ";"))
            try s.expectEnd()
        }
        return out
    }

    /// Expires (§20.19) as delta-seconds; nil when absent.
    public func expires() throws(SIPParseError) -> UInt32? {
        guard contains(.expires) else { return nil }
        let raw = try singleRaw(.expires)
        guard !raw.isEmpty, raw.count <= 10, raw.allSatisfy(isDigit), let v = UInt32(String(decoding: raw, as: UTF8.self)) else { throw .value(.expires, "Out Of Range") }
        return v
    }

    /// Authorization credentials, one per row (§20.7).
    public func authorization() throws(SIPParseError) -> [SIPAuthValue] { try auth(.authorization) }
    /// Proxy-Authorization credentials (§20.28).
    public func proxyAuthorization() throws(SIPParseError) -> [SIPAuthValue] { try auth(.proxyAuthorization) }
    /// WWW-Authenticate challenges (§20.44).
    public func wwwAuthenticate() throws(SIPParseError) -> [SIPAuthValue] { try auth(.wwwAuthenticate) }
    /// Proxy-Authenticate challenges (§20.27).
    public func proxyAuthenticate() throws(SIPParseError) -> [SIPAuthValue] { try auth(.proxyAuthenticate) }

    /// True when Date is an RFC 1123 date in GMT (§20.17: `rfc1123-date`, "GMT" required); nil when absent.
    public func dateIsValid() -> Bool? {
        guard let raw = rawValues(.date).first else { return nil }
        // wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP "GMT"
        let text = String(decoding: raw, as: UTF8.self)
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        let days = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, days.contains(String(parts[0])), parts[1].count == 2, parts[1].allSatisfy(\.isNumber),
              months.contains(String(parts[2])), parts[3].count == 4, parts[3].allSatisfy(\.isNumber),
              parts[4].count == 8, parts[5] == "GMT" else { return false }
        return true
    }

    // MARK: helpers

    func singleRaw(_ name: SIPHeaderName) throws(SIPParseError) -> [UInt8] {
        guard let first = firstRawValue(name) else { throw .value(name, "Missing") }
        guard !first.more else { throw .value(name, "Multiple Values") }
        return first.bytes
    }

    /// The characters of a Call-ID `word` besides token characters (§25.1).
    static let callIDWordExtras: Set<UInt8> = Set("()<>:\\\"/[]?{}".utf8)

    func single(_ name: SIPHeaderName) throws(SIPParseError) -> SIPNameAddress {
        var s = ByteScanner(try singleRaw(name), header: name)
        let a = try SIPNameAddress.parse(&s)
        try s.expectEnd()
        return a
    }

    func addresses(_ name: SIPHeaderName) throws(SIPParseError) -> [SIPNameAddress] {
        var out: [SIPNameAddress] = []
        for raw in rawValues(name) {
            var s = ByteScanner(raw, header: name)
            out += try s.list { (s: inout ByteScanner) throws(SIPParseError) in try SIPNameAddress.parse(&s) }
        }
        return out
    }

    func tokens(_ name: SIPHeaderName) throws(SIPParseError) -> [String] {
        var out: [String] = []
        for raw in rawValues(name) where !raw.isEmpty {
            var s = ByteScanner(raw, header: name)
            out += try s.list { (s: inout ByteScanner) throws(SIPParseError) in try s.requireToken("Token") }
        }
        return out
    }

    func auth(_ name: SIPHeaderName) throws(SIPParseError) -> [SIPAuthValue] {
        try values(name).map { (v: String) throws(SIPParseError) in try SIPAuthValue(parsing: v, header: name) }
    }
}
