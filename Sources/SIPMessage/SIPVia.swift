// Via header values (RFC 3261 §20.42, §18.2.1, RFC 3581 rport).

/// One Via value: `SIP/2.0/transport sent-by *(;via-params)` (RFC 3261 §20.42, §25.1 via-parm).
public struct SIPVia: Hashable, Sendable, CustomStringConvertible {
    /// The protocol name, `SIP`.
    public var protocolName: String
    /// The protocol version, `2.0`.
    public var protocolVersion: String
    /// The transport token as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, or any other token).
    public var transport: String
    /// sent-by host: hostname, IPv4 or IPv6 (without brackets).
    public var host: String
    /// sent-by port, when given.
    public var port: Int?
    /// The parameters in order (`branch`, `received`, `rport`, `maddr`, `ttl`, extensions).
    public var parameters: SIPParameters

    /// Makes a Via value with a branch.
    public init(transport: String, host: String, port: Int? = nil, branch: String?, parameters: SIPParameters = []) {
        self.protocolName = "SIP"
        self.protocolVersion = "2.0"
        self.transport = transport
        self.host = host
        self.port = port
        var p = SIPParameters()
        if let branch { p.set("branch", branch) }
        for item in parameters.items { p.items.append(item) }
        self.parameters = p
    }

    /// The `branch` parameter (§8.1.1.7).
    public var branch: String? {
        get { parameters["branch"] }
        set { parameters["branch"] = newValue }
    }

    /// True when the branch starts with the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7); otherwise
    /// matching falls back to RFC 2543 rules (§17.2.3).
    public var hasMagicCookie: Bool { branch?.hasPrefix("z9hG4bK") ?? false }

    /// The `received` parameter (§18.2.1).
    public var received: String? {
        get { parameters["received"] }
        set { parameters["received"] = newValue }
    }

    /// The `rport` parameter (RFC 3581): nil when absent, `.some(nil)` when present without a value.
    public var rport: Int?? {
        guard parameters.contains("rport") else { return nil }
        return .some(parameters["rport"].flatMap { Int($0) })
    }

    /// The `maddr` parameter (§18.2.2).
    public var maddr: String? { parameters["maddr"] }

    /// `host[:port]` with IPv6 brackets.
    public var sentBy: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(h):\($0)" } ?? h
    }

    /// Renders the value (`SIP/2.0/UDP host:port;branch=…`).
    public var description: String {
        "\(protocolName)/\(protocolVersion)/\(transport) \(sentBy)\(parameters.description)"
    }

    /// Parses every Via value in a header row (comma list).
    static func parseList(_ bytes: [UInt8]) throws(SIPParseError) -> [SIPVia] {
        var s = ByteScanner(bytes, header: .via)
        return try s.list { (s: inout ByteScanner) throws(SIPParseError) in try parse(&s) }
    }

    static func parse(_ s: inout ByteScanner) throws(SIPParseError) -> SIPVia {
        let name = try s.requireToken("Protocol Name")
        guard s.separator(UInt8(ascii: "/")) else { throw s.fail("Expected /") }
        let version = try s.requireToken("Protocol Version")
        guard s.separator(UInt8(ascii: "/")) else { throw s.fail("Expected /") }
        let transport = try s.requireToken("Transport")
        s.skipWhitespace()
        let (host, port) = try parseHostPort(&s)
        var via = SIPVia(transport: transport, host: host, port: port, branch: nil)
        via.protocolName = name
        via.protocolVersion = version
        via.parameters = try SIPParameters.parseHeaderParameters(&s)
        if let ttl = via.parameters["ttl"], Int(ttl).map({ !(0...255).contains($0) }) ?? true { throw s.fail("Bad ttl") }
        if via.parameters.contains("rport"), let r = via.parameters["rport"], Int(r).map({ !(1...65_535).contains($0) }) ?? true { throw s.fail("Bad rport") }
        return via
    }
}

/// `hostport = host [ ":" port ]` with surrounding SWS around the colon (sent-by, §25.1).
func parseHostPort(_ s: inout ByteScanner) throws(SIPParseError) -> (String, Int?) {
    let host: String
    if s.consume(UInt8(ascii: "[")) {
        let inner = s.take { isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        guard !inner.isEmpty, s.consume(UInt8(ascii: "]")) else { throw s.fail("Bad IPv6 Reference") }
        host = inner.string
    } else {
        let h = s.take { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
        guard !h.isEmpty else { throw s.fail("Missing Host") }
        host = h.string
    }
    var port: Int?
    if s.separator(UInt8(ascii: ":")) {
        let digits = s.take(while: isDigit)
        guard !digits.isEmpty, digits.count <= 5, let p = Int(digits.string), p <= 65_535 else { throw s.fail("Bad Port") }
        port = p
    }
    return (host, port)
}
