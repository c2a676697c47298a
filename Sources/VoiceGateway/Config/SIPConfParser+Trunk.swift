// SIPConfParser+Trunk: `type = trunk` sections and `route` lines of sip.conf (see
// sip.conf.example and README "Connecting a trunk"). Keys that belong to features not built yet
// (a host name as outbound_proxy) are parsed so a config stays valid later, but
// refused at start with their line — never silently ignored.

import Foundation
import NIOCore
import RTP

extension SIPConf {
    /// The keys of a trunk section.
    public static let trunkKeys: [String] = [
        "type", "host", "transport", "username", "password", "password_file", "auth_username", "realm", "from_user", "from_domain",
        "outbound_proxy", "number_format", "tech_prefix", "inbound_region", "called_number", "trusted", "trust_from", "approve_on",
        "use_rpid", "media_latching", "register", "register_expiry", "contact_user", "qualify", "verstat_header",
        "media_encryption", "srtp", "sdes_over_insecure_transport",
    ]
}

extension SIPConfParser {
    /// Whether a section says `type = trunk`.
    static func isTrunk(_ section: Section) -> Bool {
        section.entries.first(where: { $0.key == "type" })?.value.lowercased() == "trunk"
    }

    /// A trunk section: the trunk, and the peer that matches its inbound calls by its host address.
    func trunk(_ section: Section, region defaultRegion: String, useRemotePartyID defaultRPID: Bool) throws(SIPConfError) -> (trunk: Trunk, peer: GatewayPeer) {
        var seen: [String: Int] = [:]
        for entry in section.entries {
            if let first = seen[entry.key] { throw error(.duplicate, entry.line, "'\(entry.key)' already set at line \(first)") }
            seen[entry.key] = entry.line
        }
        func value(_ key: String) -> (String, Int)? { section.entries.first { $0.key == key }.map { ($0.value, $0.line) } }
        for entry in section.entries where !SIPConf.trunkKeys.contains(entry.key) {
            throw error(.unknownKey, entry.line, "unknown key '\(entry.key)' in trunk [\(section.name)]; known: \(SIPConf.trunkKeys.joined(separator: ", "))")
        }
        guard let (hostValue, hostLine) = value("host") else {
            throw error(.missingKey, section.line, "trunk [\(section.name)] needs host = the provider's host name or IP address (with :port if not 5060 or SRV)")
        }
        let (host, port) = try hostAndPort(hostValue, hostLine)
        var trunk = Trunk(name: section.name, host: host, port: port, region: defaultRegion)
        // A host name's addresses become its source addresses once resolved (TrunkAddresses).
        var peer = GatewayPeer(name: section.name, networks: IPNetwork(host).map { [$0] } ?? [], trusted: false, region: defaultRegion, useRemotePartyID: defaultRPID)
        if let (text, line) = value("transport") {
            guard let transport = SIPConf.Transport(rawValue: text.lowercased()) else { throw error(.badValue, line, "transport must be udp, tcp or tls, got '\(text)'") }
            if transport == .tls, conf.tlsBind.isEmpty {
                throw error(.badValue, line, "transport = tls needs a TLS listener (its connections dial out too): set tls_bind, tls_certificate and tls_private_key in [general]")
            }
            trunk.transport = transport
        }
        if let (text, line) = value("inbound_region") {
            trunk.region = try region(text, line)
            peer.region = trunk.region
        }
        if let (text, line) = value("number_format") {
            switch text.lowercased() {
            case "e164": trunk.numberFormat = .e164
            case "e164_no_plus": trunk.numberFormat = .e164NoPlus
            case "national":
                guard NumberingPlan.known[trunk.region] != nil else {
                    throw error(.badValue, line, "number_format = national needs inbound_region with a known numbering plan (\(NumberingPlan.known.keys.sorted().joined(separator: ", "))), got \(trunk.region)")
                }
                trunk.numberFormat = .national
            case "tech_prefix":
                guard let (prefix, prefixLine) = value("tech_prefix") else {
                    throw error(.missingKey, line, "number_format = tech_prefix needs tech_prefix = the provider's prefix, e.g. 12345678*")
                }
                guard (1...16).contains(prefix.count), prefix.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "*" || $0 == "#") }) else {
                    throw error(.badValue, prefixLine, "tech_prefix must be 1-16 digits, '*' or '#', got '\(prefix)'")
                }
                trunk.numberFormat = .techPrefix(prefix)
            default:
                throw error(.badValue, line, "number_format must be e164, e164_no_plus, national or tech_prefix, got '\(text)'")
            }
        }
        if let (_, line) = value("tech_prefix"), trunk.techPrefix == nil {
            throw error(.badValue, line, "tech_prefix is used only with number_format = tech_prefix")
        }
        if let (text, line) = value("called_number") {
            guard let source = Trunk.CalledNumberSource(rawValue: text.lowercased()) else {
                throw error(.badValue, line, "called_number must be request_uri, to or diversion, got '\(text)'")
            }
            trunk.calledNumber = source
        }
        if let (text, line) = value("trusted") { peer.trusted = try bool(text, line, key: "trusted") }
        if let (text, line) = value("trust_from") { peer.trustFrom = try bool(text, line, key: "trust_from") }
        if let (text, line) = value("verstat_header") { peer.verstatHeader = try headerName(text, line, key: "verstat_header") }
        if let (text, line) = value("use_rpid") { peer.useRemotePartyID = try bool(text, line, key: "use_rpid") }
        if let (text, line) = value("approve_on") {
            guard let proof = ApprovalProof(rawValue: text.lowercased()) else { throw error(.badValue, line, "approve_on must be invite or ack, got '\(text)'") }
            peer.approveOn = proof
        }
        if let (text, line) = value("media_latching") {
            guard let latching = RTPLatching(rawValue: text.lowercased()) else {
                throw error(.badValue, line, "media_latching must be no, signalling or yes, got '\(text)'")
            }
            peer.mediaLatching = latching
        }
        peer.mediaSecurity = conf.mediaSecurity
        for key in ["media_encryption", "srtp", "sdes_over_insecure_transport"] {
            if let (text, line) = value(key) { try mediaSecurityKey(key, text, line, perPeer: true, into: &peer.mediaSecurity) }
        }
        try credentials(section, into: &trunk, value: value)
        if let (text, line) = value("from_user") { trunk.fromUser = try token(text, line, key: "from_user", extra: "+-_.*#") }
        if let (text, line) = value("from_domain") { trunk.fromDomain = try hostName(text, line, key: "from_domain") }
        if let (text, line) = value("outbound_proxy") {
            let (proxyHost, proxyPort) = try hostAndPort(text, line)
            guard let address = try? SocketAddress(ipAddress: proxyHost, port: proxyPort ?? 5060) else {
                throw error(.unsupported, line, "outbound_proxy '\(proxyHost)' is a name: only a trunk's host is resolved (RFC 3263); give the proxy's IP address")
            }
            trunk.outboundProxy = address
        }
        if let (text, line) = value("register_expiry") {
            trunk.registerExpiry = try duration(text, line, key: "register_expiry", in: .seconds(60)...(.seconds(86_400)))
        }
        if let (text, line) = value("qualify") { trunk.qualify = try qualify(text, line) }
        if let (text, line) = value("register") {
            trunk.register = try bool(text, line, key: "register")
            // RFC 3261 §10.2: the registrar challenges; a binding without credentials is refused there.
            if trunk.register, trunk.password == nil {
                throw error(.missingKey, line, "register = yes needs username and password (or password_file) for the registrar's digest challenge")
            }
        }
        if let (text, line) = value("contact_user") {
            trunk.contactUser = try token(text, line, key: "contact_user", extra: "-_.!~*'()")
        }
        return (trunk, peer)
    }

    /// `qualify = no` (or 0) is off (nil); else the OPTIONS interval, 1 s to 1 h (`60`, `30s`).
    func qualify(_ text: String, _ line: Int) throws(SIPConfError) -> Duration? {
        if ["no", "off", "false", "0"].contains(text.lowercased()) { return nil }
        let interval = try duration(text.allSatisfy(\.isNumber) ? text + "s" : text, line, key: "qualify", in: .zero...(.seconds(3_600)))
        guard interval == .zero || interval >= .seconds(1) else {
            throw error(.badValue, line, "qualify must be no or an interval of 1s to 1h (e.g. 60), got '\(text)'")
        }
        return interval == .zero ? nil : interval
    }

    /// `dns_server`: a literal IPv4 or `[IPv6]` address with an optional port (53), as c-ares takes it.
    func dnsServer(_ value: String, _ line: Int) throws(SIPConfError) -> String {
        let (host, port) = try hostAndPort(value, line)
        guard (try? SocketAddress(ipAddress: host, port: 0)) != nil else {
            throw error(.badValue, line, "dns_server must be a literal IP address with an optional port, e.g. 127.0.0.1:5353 or [::1]:53, got '\(value)'")
        }
        return host.contains(":") ? "[\(host)]:\(port ?? 53)" : "\(host):\(port ?? 53)"
    }

    /// username, password or password_file, auth_username, realm.
    func credentials(_ section: Section, into trunk: inout Trunk, value: (String) -> (String, Int)?) throws(SIPConfError) {
        for key in ["username", "auth_username", "realm"] {
            guard let (text, line) = value(key) else { continue }
            guard (1...128).contains(text.count), text.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\"" && $0 != "\\" }) else {
                throw error(.badValue, line, "\(key) must be 1-128 printable ASCII characters without blanks, quotes or backslashes")
            }
        }
        trunk.username = value("username")?.0
        trunk.authUsername = value("auth_username")?.0
        trunk.realm = value("realm")?.0
        switch (value("password"), value("password_file")) {
        case (let inline?, let file?):
            throw error(.duplicate, max(inline.1, file.1), "set password or password_file, not both")
        case (let inline?, nil):
            guard !inline.0.isEmpty else { throw error(.badValue, inline.1, "password is empty") }
            trunk.password = inline.0
        case (nil, let file?):
            guard let data = FileManager.default.contents(atPath: file.0), let text = String(data: data, encoding: .utf8),
                  let first = text.split(whereSeparator: \.isNewline).first.map(String.init), !first.isEmpty
            else {
                throw error(.unreadable, file.1, "password_file '\(file.0)' cannot be read or its first line is empty")
            }
            trunk.password = first
        case (nil, nil):
            break
        }
        if trunk.password != nil, trunk.username == nil {
            throw error(.missingKey, value("password")?.1 ?? value("password_file")?.1 ?? section.line, "a password needs username")
        }
        if let (_, line) = value("username"), trunk.password == nil {
            throw error(.missingKey, line, "username needs password or password_file")
        }
    }

    /// `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address has no port.
    func hostAndPort(_ value: String, _ line: Int) throws(SIPConfError) -> (String, Int?) {
        var host = value
        var portText: Substring?
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { throw error(.badValue, line, "'\(value)': missing ']'") }
            host = String(value[value.index(after: value.startIndex)..<close])
            let rest = value[value.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw error(.badValue, line, "'\(value)': expected [address]:port") }
                portText = rest.dropFirst()
            }
        } else if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
            host = String(value[..<colon])
            portText = value[value.index(after: colon)...]
        }
        var port: Int?
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else { throw error(.badValue, line, "'\(value)': the port must be 1-65535") }
            port = number
        }
        _ = try hostName(host, line, key: "host")
        return (host, port)
    }

    /// The `route` lines of [general]: `+886 -> trunk_a, trunk_b`, each trunk defined.
    func routes(_ general: Section?) throws(SIPConfError) -> [OutboundRoute] {
        var routes: [OutboundRoute] = []
        var prefixes: [String: Int] = [:]
        for entry in general?.entries ?? [] where entry.key == "route" {
            let parts = entry.value.components(separatedBy: "->")
            guard parts.count == 2 else {
                throw error(.badValue, entry.line, "route must be '<E.164 prefix> -> trunk[, trunk…]', e.g. route = +886 -> carrier_a, carrier_b; got '\(entry.value)'")
            }
            let prefix = parts[0].trimmingBlanks
            guard prefix.first == "+", prefix.count <= 16, prefix.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }), prefix.dropFirst().first != "0" else {
                throw error(.badValue, entry.line, "a route prefix must be '+' then up to 15 digits (no leading 0; '+' alone matches every number), got '\(prefix)'")
            }
            if let first = prefixes[prefix] { throw error(.duplicate, entry.line, "route for \(prefix) already set at line \(first)") }
            prefixes[prefix] = entry.line
            var names: [String] = []
            for item in try items(parts[1].trimmingBlanks, entry.line) {
                guard let trunk = conf.trunks.first(where: { $0.name.lowercased() == item.lowercased() }) else {
                    let known = conf.trunks.map(\.name)
                    throw error(.badValue, entry.line, "route \(prefix): no trunk [\(item)]; trunks: \(known.isEmpty ? "none (add a type = trunk section)" : known.joined(separator: ", "))")
                }
                guard !names.contains(trunk.name) else { throw error(.duplicate, entry.line, "route \(prefix): trunk \(trunk.name) listed twice") }
                names.append(trunk.name)
            }
            routes.append(OutboundRoute(prefix: prefix, trunks: names))
        }
        return routes
    }
}
