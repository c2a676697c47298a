// SIPConfParser: reads sip.conf text — Asterisk-style INI: `[section]`, `key = value` (or `=>`),
// comments from `;` or `#` at the start of a line or after a blank, repeated keys for lists — into
// a SIPConf, refusing anything it does not understand with the line that holds it.

import NIOCore
import RTP
import SDP
import SIPMessage
import SIPStack

/// One use: `parse(_:)`.
struct SIPConfParser {
    let file: String
    var conf: SIPConf

    /// A `key = value` line.
    struct Entry {
        var key: String
        var value: String
        var line: Int
    }

    /// A section with its entries.
    struct Section {
        var name: String
        var line: Int
        var entries: [Entry] = []
    }

    init(file: String, defaults: SIPConf) {
        self.file = file
        self.conf = defaults
    }

    func error(_ code: SIPConfError.Code, _ line: Int, _ message: String) -> SIPConfError {
        SIPConfError(code, file: file, line: line, message)
    }

    mutating func parse(_ text: String) throws(SIPConfError) -> SIPConf {
        guard text.utf8.count <= SIPConf.maxFileSize else {
            throw error(.tooLarge, 0, "the file has \(text.utf8.count) bytes, more than \(SIPConf.maxFileSize)")
        }
        let sections = try sectionsOf(text)
        var generalRegion: String?
        var generalRPID: Bool?
        if let general = sections.first(where: { $0.name.lowercased() == "general" }) {
            try applyGeneral(general)
            generalRegion = conf.region
            generalRPID = conf.useRemotePartyID
        }
        var peers: [GatewayPeer] = []
        var owners: [IPNetwork: String] = [:]
        for section in sections where section.name.lowercased() != "general" {
            if Self.isTrunk(section) {
                // A trunk is also a peer: its host addresses are its source addresses (SIPConfParser+Trunk.swift).
                let found = try trunk(section, region: generalRegion ?? conf.region, useRemotePartyID: generalRPID ?? conf.useRemotePartyID)
                conf.trunks.append(found.trunk)
                peers.append(found.peer)
                continue
            }
            let found = try peer(section, region: generalRegion ?? conf.region, useRemotePartyID: generalRPID ?? conf.useRemotePartyID, owners: &owners)
            peers.append(found)
        }
        conf.routes = try routes(sections.first(where: { $0.name.lowercased() == "general" }))
        // A file with no peer sections trusts nobody; the defaults' loopback peer is only for no file.
        conf.peers = peers
        return conf
    }

    // MARK: Lines

    /// Splits the text into sections, checking the line syntax.
    func sectionsOf(_ text: String) throws(SIPConfError) -> [Section] {
        var sections: [Section] = []
        var names: [String: Int] = [:]
        var lineNumber = 0
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.last?.isEmpty == true { lines.removeLast() }  // the end of the last line, not a line
        guard lines.count <= SIPConf.maxLines else {
            throw error(.tooLarge, SIPConf.maxLines + 1, "more than \(SIPConf.maxLines) lines")
        }
        for rawLine in lines {
            lineNumber += 1
            guard rawLine.utf8.count <= SIPConf.maxLineLength else {
                throw error(.tooLarge, lineNumber, "line longer than \(SIPConf.maxLineLength) bytes")
            }
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            if line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) {
                throw error(.syntax, lineNumber, "control character in line")
            }
            let trimmed = line.trimmingBlanks
            if trimmed.hasPrefix("#include") || trimmed.hasPrefix("#exec") || trimmed.hasPrefix("#tryinclude") {
                throw error(.unsupported, lineNumber, "\(trimmed.split(separator: " ").first ?? "") is not supported; put everything in one file")
            }
            let content = Self.withoutComment(trimmed)
            if content.isEmpty { continue }
            if content.hasPrefix("[") {
                guard let close = content.firstIndex(of: "]") else { throw error(.syntax, lineNumber, "section header without ']'") }
                let name = String(content[content.index(after: content.startIndex)..<close]).trimmingBlanks
                let rest = content[content.index(after: close)...].trimmingBlanks
                if rest.hasPrefix("(") { throw error(.unsupported, lineNumber, "templates ('[\(name)](…)') are not supported") }
                guard rest.isEmpty else { throw error(.syntax, lineNumber, "text after the section header: '\(rest)'") }
                guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                    throw error(.syntax, lineNumber, "section name '\(name)' must be 1-64 letters, digits, '-', '_' or '.'")
                }
                if let first = names[name.lowercased()] {
                    throw error(.duplicate, lineNumber, "section [\(name)] already opened at line \(first)")
                }
                names[name.lowercased()] = lineNumber
                sections.append(Section(name: name, line: lineNumber))
                continue
            }
            guard let equals = content.firstIndex(of: "=") else {
                throw error(.syntax, lineNumber, "expected 'key = value' or '[section]', got '\(content)'")
            }
            let key = String(content[..<equals]).trimmingBlanks.lowercased()
            var valueStart = content.index(after: equals)
            if valueStart < content.endIndex, content[valueStart] == ">" { valueStart = content.index(after: valueStart) }  // Asterisk's `=>`
            let value = String(content[valueStart...]).trimmingBlanks
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw error(.syntax, lineNumber, "bad key '\(key)'")
            }
            guard !sections.isEmpty else { throw error(.syntax, lineNumber, "'\(key)' before any [section]") }
            sections[sections.count - 1].entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        return sections
    }

    /// The line without a comment: `;` or `#` at its start or after a blank (so URIs keep their `;param`).
    static func withoutComment(_ line: String) -> String {
        var previous: Character = " "
        for index in line.indices {
            let c = line[index]
            if (c == ";" || c == "#"), previous == " " || previous == "\t" {
                return String(line[..<index]).trimmingBlanks
            }
            previous = c
        }
        return line
    }

    // MARK: [general]

    mutating func applyGeneral(_ section: Section) throws(SIPConfError) {
        var seen: [String: Int] = [:]
        var lists: Set<String> = []
        var rtpStart = conf.media.rtpPorts.lowerBound
        var rtpEnd = conf.media.rtpPorts.upperBound
        var sessionTimersOn = conf.sessionTimer != nil
        var sessionExpires = conf.sessionTimer?.sessionExpires ?? SessionTimer.Settings().sessionExpires
        var minSE = conf.sessionTimer?.minSE ?? SessionTimer.Settings().minSE
        for entry in section.entries {
            let isList = ["bind", "tls_bind", "transport", "allow", "system_number", "disallow", "route"].contains(entry.key)
            if !isList, let first = seen[entry.key] {
                throw error(.duplicate, entry.line, "'\(entry.key)' already set at line \(first)")
            }
            seen[entry.key] = seen[entry.key] ?? entry.line
            let value = entry.value
            let line = entry.line
            // The first line of a list key replaces the default list.
            let firstOfList = isList && lists.insert(entry.key).inserted
            switch entry.key {
            case "name":
                conf.name = try token(value, line, key: entry.key, extra: "-_.")
            case "bind":
                if firstOfList { conf.bind = [] }
                for item in try items(value, line) {
                    let address = try socketAddress(item, line)
                    guard !conf.bind.contains(address) else { throw error(.duplicate, line, "bind \(item) listed twice") }
                    conf.bind.append(address)
                }
            case "transport":
                if firstOfList { conf.transports = [] }
                for item in try items(value, line) {
                    guard let transport = SIPConf.Transport(rawValue: item.lowercased()), transport != .tls else {
                        throw error(.badValue, line, "transport must be udp or tcp (TLS listens on tls_bind), got '\(item)'")
                    }
                    guard !conf.transports.contains(transport) else { throw error(.duplicate, line, "transport \(item) listed twice") }
                    conf.transports.append(transport)
                }
            case "advertised_host":
                conf.advertisedHost = try value.isEmpty ? nil : hostName(value, line, key: entry.key)
            case "sip_external_address":
                if value.isEmpty { (conf.sipExternalHost, conf.sipExternalPort) = (nil, nil); break }
                (conf.sipExternalHost, conf.sipExternalPort) = try externalHostPort(value, line, key: entry.key)
            case "rtp_external_address":
                if value.isEmpty { conf.media.rtpExternalAddress = nil; break }
                guard let address = try? SocketAddress(ipAddress: value, port: 0), address.ipAddress != "0.0.0.0", address.ipAddress != "::" else {
                    throw error(.badValue, line, "rtp_external_address must be the literal public IPv4 or IPv6 address SDP announces (not a wildcard), got '\(value)'")
                }
                conf.media.rtpExternalAddress = value
            case "user_agent":
                guard !value.isEmpty, value.count <= 128, value.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
                    throw error(.badValue, line, "user_agent must be 1-128 ASCII characters")
                }
                conf.userAgent = value
            case "max_calls": conf.maxCalls = try integer(value, line, key: entry.key, in: 1...1_000_000)
            case "retry_after":
                let duration = try duration(value, line, key: entry.key, in: .seconds(1)...(.seconds(3_600)))
                guard duration.components.attoseconds == 0 else { throw error(.badValue, line, "retry_after must be whole seconds (RFC 3261 §20.33), got '\(value)'") }
                conf.retryAfterSeconds = Int(duration.components.seconds)
            case "max_transactions_per_source": conf.maxTransactionsPerSource = try integer(value, line, key: entry.key, in: 1...1_000_000)
            case "max_transactions": conf.maxTransactions = try integer(value, line, key: entry.key, in: 1...10_000_000)
            case "max_tcp_connections": conf.maxTCPConnections = try integer(value, line, key: entry.key, in: 1...1_000_000)
            case "tcp_idle_timeout": conf.tcpIdleTimeout = try duration(value, line, key: entry.key, in: .seconds(1)...(.seconds(86_400)))
            case "rtp_start": rtpStart = try integer(value, line, key: entry.key, in: 1_024...65_535)
            case "rtp_end": rtpEnd = try integer(value, line, key: entry.key, in: 1_024...65_535)
            case "rtp_address":
                if value.isEmpty { conf.media.rtpAddress = nil; break }
                guard (try? SocketAddress(ipAddress: value, port: 0)) != nil else {
                    throw error(.badValue, line, "rtp_address must be a literal IPv4 or IPv6 address, got '\(value)'")
                }
                conf.media.rtpAddress = value
            case "disallow":
                guard value.lowercased() == "all" else { throw error(.badValue, line, "disallow takes only 'all' (then list codecs with allow)") }
                conf.media.codecs = []
                lists.insert("allow")
            case "allow":
                if firstOfList { conf.media.codecs = [] }
                for item in try items(value, line) {
                    let codec = try self.codec(item, line)
                    guard !conf.media.codecs.contains(codec) else { throw error(.duplicate, line, "codec \(item) allowed twice") }
                    conf.media.codecs.append(codec)
                }
            case "language":
                guard let locale = MediaSettings.promptLocales.first(where: { $0.lowercased() == value.lowercased() }) else {
                    throw error(.badValue, line, "language must be one of \(MediaSettings.promptLocales.joined(separator: ", ")), got '\(value)'")
                }
                conf.media.promptLocale = locale
            case "max_wrong_codes": conf.media.maxWrongCodesPerCall = try integer(value, line, key: entry.key, in: 1...20)
            case "first_digit_timeout": conf.media.firstDigitTimeout = try duration(value, line, key: entry.key, in: .seconds(1)...(.seconds(120)))
            case "inter_digit_timeout": conf.media.interDigitTimeout = try duration(value, line, key: entry.key, in: .seconds(1)...(.seconds(60)))
            case "system_number":
                if firstOfList { conf.systemNumbers = [] }
                for item in try items(value, line) {
                    guard item.first == "+", item.count >= 3, item.count <= 16, item.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }), item.dropFirst().first != "0" else {
                        throw error(.badValue, line, "system_number must be E.164 ('+' then 2-15 digits, no leading 0), got '\(item)'")
                    }
                    guard !conf.systemNumbers.contains(item) else { throw error(.duplicate, line, "system_number \(item) listed twice") }
                    conf.systemNumbers.append(item)
                }
            case "region": conf.region = try region(value, line)
            case "use_rpid": conf.useRemotePartyID = try bool(value, line, key: entry.key)
            case "missed_call_ring_time": conf.missedCallRingTime = try duration(value, line, key: entry.key, in: .zero...(.seconds(60)))
            case "missed_call_reject": conf.missedCallRejectStatus = try status(value, line, key: entry.key)
            case "no_verification_reject": conf.noVerificationStatus = try status(value, line, key: entry.key)
            case "core_timeout": conf.coreTimeout = try duration(value, line, key: entry.key, in: .milliseconds(100)...(.seconds(60)))
            case "outbound_target": conf.outboundTarget = try value.isEmpty ? nil : outboundTarget(value, line)
            case "outbound_caller_id": conf.outboundCallerID = try token(value, line, key: entry.key, extra: "+-_.")
            case "route": break  // read once the trunks are known (SIPConfParser+Trunk.swift)
            case "dns_server": conf.dnsServer = try value.isEmpty ? nil : dnsServer(value, line)
            case "tls_bind", "tls_certificate", "tls_private_key", "tls_ca_file", "tls_require_client_certificate", "tls_handshake_timeout", "max_connections_per_ip":
                try applyTLS(entry.key, value, line, firstOfList: firstOfList)
            case "media_encryption", "srtp": try mediaSecurityKey(entry.key, value, line, perPeer: false, into: &conf.mediaSecurity)
            case "session_timers": sessionTimersOn = try bool(value, line, key: entry.key)
            case "session_expires": sessionExpires = try wholeSeconds(value, line, key: entry.key, in: 1...86_400)
            case "min_se": minSE = try wholeSeconds(value, line, key: entry.key, in: 1...86_400)
            default:
                throw error(.unknownKey, line, "unknown key '\(entry.key)' in [\(section.name)]; known: \(SIPConf.generalKeys.joined(separator: ", "))")
            }
        }
        // Room for one even RTP port and its RTCP port (RFC 3550 §11).
        guard rtpEnd - (rtpStart + rtpStart % 2) >= 1 else {
            throw error(.badValue, seen["rtp_end"] ?? seen["rtp_start"] ?? section.line, "rtp_start (\(rtpStart)) to rtp_end (\(rtpEnd)) holds no even RTP port with its RTCP port")
        }
        conf.media.rtpPorts = rtpStart...rtpEnd
        // RFC 4028 §4, §5: the interval we ask for is never below the smallest we accept.
        guard sessionExpires >= minSE else {
            throw error(.badValue, seen["session_expires"] ?? seen["min_se"] ?? section.line, "session_expires (\(sessionExpires)s) is below min_se (\(minSE)s)")
        }
        conf.sessionTimer = sessionTimersOn ? SessionTimer.Settings(sessionExpires: sessionExpires, minSE: minSE) : nil
        guard !conf.bind.isEmpty else { throw error(.badValue, seen["bind"] ?? section.line, "bind lists no address") }
        try checkTLS(seen: seen, section: section)
        guard !conf.transports.isEmpty else { throw error(.badValue, seen["transport"] ?? section.line, "transport lists no transport") }
        guard !conf.media.codecs.isEmpty else { throw error(.badValue, seen["allow"] ?? seen["disallow"] ?? section.line, "no codec allowed (add allow = pcmu,pcma)") }
    }

    // MARK: Peers

    /// A peer section; `owners` maps each network already taken to its peer, so one address cannot
    /// belong to two peers.
    func peer(_ section: Section, region defaultRegion: String, useRemotePartyID defaultRPID: Bool, owners: inout [IPNetwork: String]) throws(SIPConfError) -> GatewayPeer {
        guard let type = section.entries.first(where: { $0.key == "type" }) else {
            throw error(.unknownSection, section.line, "section [\(section.name)] is neither [general] nor a peer or trunk (add type = peer or type = trunk)")
        }
        guard type.value.lowercased() == "peer" else {
            throw error(.unsupported, type.line, "type must be peer or trunk (users, friends and registrations are not supported), got '\(type.value)'")
        }
        var peer = GatewayPeer(name: section.name, networks: [], trusted: false, region: defaultRegion, useRemotePartyID: defaultRPID)
        peer.mediaSecurity = conf.mediaSecurity
        var seen: [String: Int] = [:]
        for entry in section.entries {
            if entry.key != "host", let first = seen[entry.key] {
                throw error(.duplicate, entry.line, "'\(entry.key)' already set at line \(first)")
            }
            seen[entry.key] = seen[entry.key] ?? entry.line
            switch entry.key {
            case "type": break
            case "host":
                for item in try items(entry.value, entry.line) {
                    guard let network = IPNetwork(item) else {
                        throw error(.badValue, entry.line, "host must be an IP address or CIDR such as 192.0.2.0/24 (names are not resolved), got '\(item)'")
                    }
                    guard !peer.networks.contains(network) else { throw error(.duplicate, entry.line, "host \(item) listed twice") }
                    if let other = owners[network] { throw error(.duplicate, entry.line, "host \(network) is already in peer [\(other)]") }
                    owners[network] = section.name
                    peer.networks.append(network)
                }
            case "trusted": peer.trusted = try bool(entry.value, entry.line, key: entry.key)
            case "region": peer.region = try region(entry.value, entry.line)
            case "use_rpid": peer.useRemotePartyID = try bool(entry.value, entry.line, key: entry.key)
            case "trust_from": peer.trustFrom = try bool(entry.value, entry.line, key: entry.key)
            case "verstat_header": peer.verstatHeader = try headerName(entry.value, entry.line, key: entry.key)
            case "media_latching":
                guard let latching = RTPLatching(rawValue: entry.value.lowercased()) else {
                    throw error(.badValue, entry.line, "media_latching must be no, signalling or yes, got '\(entry.value)'")
                }
                peer.mediaLatching = latching
            case "approve_on":
                guard let proof = ApprovalProof(rawValue: entry.value.lowercased()) else {
                    throw error(.badValue, entry.line, "approve_on must be invite or ack, got '\(entry.value)'")
                }
                peer.approveOn = proof
            case "tls_client_identity":
                guard !conf.tlsBind.isEmpty else {
                    throw error(.badValue, entry.line, "tls_client_identity needs a TLS listener: set tls_bind, tls_certificate and tls_private_key in [general]")
                }
                peer.tlsClientIdentity = try hostName(entry.value, entry.line, key: entry.key).lowercased()
            case "media_encryption", "srtp", "sdes_over_insecure_transport":
                try mediaSecurityKey(entry.key, entry.value, entry.line, perPeer: true, into: &peer.mediaSecurity)
            default:
                throw error(.unknownKey, entry.line, "unknown key '\(entry.key)' in peer [\(section.name)]; known: \(SIPConf.peerKeys.joined(separator: ", "))")
            }
        }
        guard !peer.networks.isEmpty || peer.tlsClientIdentity != nil else {
            throw error(.missingKey, section.line, "peer [\(section.name)] needs host = ADDRESS or CIDR (or tls_client_identity)")
        }
        return peer
    }

    // MARK: Values

    func items(_ value: String, _ line: Int) throws(SIPConfError) -> [String] {
        let parts = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingBlanks }
        guard !parts.contains(where: \.isEmpty) else { throw error(.badValue, line, "empty item in list '\(value)'") }
        return parts
    }

    func integer(_ value: String, _ line: Int, key: String, in range: ClosedRange<Int>) throws(SIPConfError) -> Int {
        guard value.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(value), range.contains(number) else {
            throw error(.badValue, line, "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(value)'")
        }
        return number
    }

    /// `1500ms` or `2s`: a unit is required so nobody guesses.
    func duration(_ value: String, _ line: Int, key: String, in range: ClosedRange<Duration>) throws(SIPConfError) -> Duration {
        let lower = value.lowercased()
        var result: Duration?
        if lower.hasSuffix("ms"), let n = Int(lower.dropLast(2)), n >= 0 {
            result = .milliseconds(n)
        } else if lower.hasSuffix("s"), let n = Int(lower.dropLast()), n >= 0 {
            result = .seconds(n)
        }
        guard let result, lower.first?.isNumber == true, range.contains(result) else {
            throw error(.badValue, line, "\(key) must be a duration like 1500ms or 2s, from \(range.lowerBound) to \(range.upperBound), got '\(value)'")
        }
        return result
    }

    /// Whole seconds (`90` or `90s`) in `range`, as RFC 4028's delta-seconds.
    func wholeSeconds(_ value: String, _ line: Int, key: String, in range: ClosedRange<Int>) throws(SIPConfError) -> Int {
        let parsed = try duration(value.allSatisfy(\.isNumber) ? value + "s" : value, line, key: key, in: .seconds(range.lowerBound)...(.seconds(range.upperBound)))
        guard parsed.components.attoseconds == 0 else { throw error(.badValue, line, "\(key) must be whole seconds (RFC 4028 §4), got '\(value)'") }
        return Int(parsed.components.seconds)
    }

    func bool(_ value: String, _ line: Int, key: String) throws(SIPConfError) -> Bool {
        switch value.lowercased() {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw error(.badValue, line, "\(key) must be yes or no, got '\(value)'")
        }
    }

    func status(_ value: String, _ line: Int, key: String) throws(SIPConfError) -> Int {
        guard value.count == 3, let code = Int(value), (400...699).contains(code) else {
            throw error(.badValue, line, "\(key) must be a final SIP status from 400 to 699 (RFC 3261 §21.4-21.6), got '\(value)'")
        }
        return code
    }

    func region(_ value: String, _ line: Int) throws(SIPConfError) -> String {
        guard value.count == 2, value.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw error(.badValue, line, "region must be an ISO 3166 alpha-2 code such as TW or US, got '\(value)'")
        }
        return value.uppercased()
    }

    func token(_ value: String, _ line: Int, key: String, extra: String) throws(SIPConfError) -> String {
        guard !value.isEmpty, value.count <= 64, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || extra.contains($0)) }) else {
            throw error(.badValue, line, "\(key) must be 1-64 letters, digits or '\(extra)', got '\(value)'")
        }
        return value
    }

    /// A SIP header name: an RFC 3261 §25.1 `token`.
    func headerName(_ value: String, _ line: Int, key: String) throws(SIPConfError) -> SIPHeaderName {
        SIPHeaderName(try token(value, line, key: key, extra: "-.!%*_+`'~"))
    }

    func hostName(_ value: String, _ line: Int, key: String) throws(SIPConfError) -> String {
        if (try? SocketAddress(ipAddress: value, port: 0)) != nil { return value }
        let labels = value.split(separator: ".", omittingEmptySubsequences: false)
        guard value.count <= 253, !labels.isEmpty, labels.allSatisfy({ label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-" && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }) else {
            throw error(.badValue, line, "\(key) must be a host name or IP address, got '\(value)'")
        }
        return value
    }

    /// `host`, `host:port` or `[v6]:port` where host is a name or literal IP (sent-by, RFC 3261
    /// §20.42); the port nil when absent.
    func externalHostPort(_ value: String, _ line: Int, key: String) throws(SIPConfError) -> (String, Int?) {
        var host = value
        var portText: Substring?
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { throw error(.badValue, line, "\(key) '\(value)': missing ']'") }
            host = String(value[value.index(after: value.startIndex)..<close])
            let rest = value[value.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw error(.badValue, line, "\(key) '\(value)': expected [address]:port") }
                portText = rest.dropFirst()
            }
            guard (try? SocketAddress(ipAddress: host, port: 0))?.protocol == .inet6 else {
                throw error(.badValue, line, "\(key) '\(value)': brackets hold an IPv6 address")
            }
        } else if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
            host = String(value[..<colon])
            portText = value[value.index(after: colon)...]
        } else if value.contains(":") {
            throw error(.badValue, line, "\(key) '\(value)': write an IPv6 address in brackets, e.g. [2001:db8::1]:5060")
        }
        var port: Int?
        if let portText {
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(portText), (1...65_535).contains(number) else {
                throw error(.badValue, line, "\(key) '\(value)': the port must be 1-65535")
            }
            port = number
        }
        if host == "0.0.0.0" || host == "::" { throw error(.badValue, line, "\(key) must be the public address, not a wildcard, got '\(value)'") }
        return (try hostName(host, line, key: key), port)
    }

    /// `host:port`, `[v6]:port`, or an address alone (port 5060, RFC 3261 §19.1.2).
    func socketAddress(_ value: String, _ line: Int, defaultPort: Int = 5060) throws(SIPConfError) -> SocketAddress {
        var host = value
        var port = defaultPort
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { throw error(.badValue, line, "bind '\(value)': missing ']'") }
            host = String(value[value.index(after: value.startIndex)..<close])
            let rest = value[value.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":", let p = Int(rest.dropFirst()) else { throw error(.badValue, line, "bind '\(value)': expected [address]:port") }
                port = p
            }
        } else if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
            host = String(value[..<colon])
            guard let p = Int(value[value.index(after: colon)...]) else { throw error(.badValue, line, "bind '\(value)': the port is not a number") }
            port = p
        }
        guard (0...65_535).contains(port) else { throw error(.badValue, line, "bind '\(value)': port must be 0-65535") }
        guard let address = try? SocketAddress(ipAddress: host, port: port) else {
            throw error(.badValue, line, "bind '\(value)' must be a literal IP address with an optional port, such as 0.0.0.0:5060 or [::]:5060")
        }
        return address
    }

    func codec(_ value: String, _ line: Int) throws(SIPConfError) -> SDP.AudioCodec {
        switch value.lowercased() {
        case "pcmu", "ulaw", "g711u": return .pcmu
        case "pcma", "alaw", "g711a": return .pcma
        case "opus": return .opus
        default: throw error(.badValue, line, "unknown codec '\(value)'; known: pcmu (ulaw), pcma (alaw), opus")
        }
    }

    /// A sip:/sips: URI with `{number}` whose host is a literal IP.
    func outboundTarget(_ value: String, _ line: Int) throws(SIPConfError) -> String {
        guard value.contains("{number}") else {
            throw error(.badValue, line, "outbound_target must contain {number}, e.g. sip:{number}@192.0.2.10:5060")
        }
        guard case .sip(let uri)? = try? SIPAnyURI(parsing: value.replacingOccurrences(of: "{number}", with: "+15555550100")) else {
            throw error(.badValue, line, "outbound_target must be a sip: or sips: URI such as sip:{number}@192.0.2.10:5060, got '\(value)'")
        }
        let host = uri.host.hasPrefix("[") ? String(uri.host.dropFirst().dropLast()) : uri.host
        guard (try? SocketAddress(ipAddress: host, port: 0)) != nil else {
            throw error(.badValue, line, "outbound_target's host must be a literal IP address (names are not resolved yet), got '\(uri.host)'")
        }
        return value
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[first...last])
    }
}
