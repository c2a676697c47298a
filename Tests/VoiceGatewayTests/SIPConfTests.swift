import Foundation
import NIOCore
import SDP
import SIPStack
import Testing
@testable import VoiceGateway

@Suite("sip.conf")
struct SIPConfTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sip.conf.example")

    /// The error `text` gives.
    func failure(_ text: String) -> SIPConfError? {
        do {
            _ = try SIPConf.parse(text, file: "t.conf")
            return nil
        } catch {
            return error
        }
    }

    @Test("no file: the defaults are those of SIPEndpointConfiguration() and GatewayConfiguration() — loopback only")
    func defaults() throws {
        let conf = SIPConf()
        let endpoint = conf.endpointConfiguration
        let plain = SIPEndpointConfiguration()
        #expect(endpoint.udp == plain.udp)
        #expect(endpoint.tcp == plain.tcp)
        #expect(endpoint.udp.map(\.ipAddress) == ["127.0.0.1"])
        #expect(endpoint.advertisedHost == plain.advertisedHost)
        #expect(endpoint.maxCalls == plain.maxCalls)
        #expect(endpoint.retryAfterSeconds == plain.retryAfterSeconds)
        #expect(endpoint.maxTransactionsPerSource == plain.maxTransactionsPerSource)
        #expect(endpoint.maxTransactions == plain.maxTransactions)
        #expect(endpoint.maxTCPConnections == plain.maxTCPConnections)
        #expect(endpoint.tcpIdleTimeout == plain.tcpIdleTimeout)
        #expect(endpoint.userAgent == plain.userAgent)
        let gateway = conf.gatewayConfiguration
        let base = GatewayConfiguration()
        #expect(gateway.name == base.name)
        #expect(gateway.trustedPeers == base.trustedPeers)
        #expect(gateway.region == base.region)
        #expect(gateway.useRemotePartyID == base.useRemotePartyID)
        #expect(gateway.missedCallRingTime == base.missedCallRingTime)
        #expect(gateway.missedCallRejectStatus == base.missedCallRejectStatus)
        #expect(gateway.noVerificationStatus == base.noVerificationStatus)
        #expect(gateway.coreTimeout == base.coreTimeout)
        #expect(gateway.outboundTarget == base.outboundTarget)
        #expect(gateway.outboundCallerID == base.outboundCallerID)
        #expect(conf.media == MediaSettings())
        #expect(conf.media.rtpPorts == RTPPortAllocator().range)
        // An empty file trusts nobody (no peer sections), otherwise defaults.
        let empty = try SIPConf.parse("; nothing\n")
        #expect(empty.peers.isEmpty)
        #expect(empty.gatewayConfiguration.trustedPeers.isEmpty)
        #expect(empty.bind == conf.bind)
    }

    @Test("session_timers, session_expires, min_se (RFC 4028) reach the endpoint; a Session-Expires below min_se is refused with its line")
    func sessionTimerKeys() throws {
        #expect(SIPConf().endpointConfiguration.sessionTimer == SessionTimer.Settings(sessionExpires: 1_800, minSE: 90))
        let short = try SIPConf.parse("[general]\nsession_expires = 4\nmin_se = 4s\n")
        #expect(short.endpointConfiguration.sessionTimer == SessionTimer.Settings(sessionExpires: 4, minSE: 4))
        #expect(try SIPConf.parse("[general]\nsession_timers = no\n").endpointConfiguration.sessionTimer == nil)
        let below = try #require(failure("[general]\nmin_se = 120\nsession_expires = 90\n"))
        #expect(below.line == 3 && below.code == .badValue && below.message.contains("below min_se"))
        let fraction = try #require(failure("[general]\nmin_se = 1500ms\n"))
        #expect(fraction.line == 2 && fraction.message.contains("whole seconds"))
    }

    @Test("sip.conf.example parses to exactly the defaults")
    func exampleIsDefaults() throws {
        let conf = try SIPConf.load(path: Self.example.path)
        #expect(conf == SIPConf())
    }

    @Test("sip.conf.example documents every key the parser knows")
    func exampleDocumentsEveryKey() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for key in SIPConf.generalKeys + SIPConf.peerKeys + SIPConf.trunkKeys {
            let documented = lines.contains { line in
                let body = line.hasPrefix(";") || line.hasPrefix("#") ? String(line.dropFirst()) : line
                return body.split(separator: "=", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } == key
            }
            #expect(documented, "sip.conf.example does not show \(key)")
        }
    }

    @Test("a full file: listen addresses, transports, media, numbers, limits, call handling and peers")
    func goodFile() throws {
        let text = """
            ; a production-like file
            [general]
            name = gw-taipei-1
            bind = 0.0.0.0:5060
            bind => [::]:5062   # IPv6 too
            transport = UDP
            advertised_host = sip.example.com
            user_agent = Verigate test
            max_calls = 200
            retry_after = 10s
            max_transactions_per_source = 64
            max_transactions = 1000
            max_tcp_connections = 10
            tcp_idle_timeout = 60s
            rtp_start = 20000
            rtp_end = 20099
            rtp_address = 192.0.2.1
            disallow = all
            allow = opus
            allow = ulaw, pcma
            language = zh-tw
            max_wrong_codes = 5
            first_digit_timeout = 8s
            inter_digit_timeout = 3000ms
            system_number = +886229996666, +886229996667
            system_number = +15555550100
            region = us
            use_rpid = yes
            missed_call_ring_time = 0ms
            missed_call_reject = 486
            no_verification_reject = 480
            core_timeout = 500ms
            outbound_target = sip:{number}@192.0.2.20:5070;transport=tcp
            outbound_caller_id = +886229996666

            [carrier]
            type = peer
            host = 198.51.100.0/24, 2001:db8::/32
            host = 203.0.113.7
            trusted = yes
            region = TW

            [office]
            TYPE = peer
            host = 10.0.0.0/8
            use_rpid = no
            """
        let conf = try SIPConf.parse(text)
        #expect(conf.name == "gw-taipei-1")
        let binds = [try SocketAddress(ipAddress: "0.0.0.0", port: 5060), try SocketAddress(ipAddress: "::", port: 5062)]
        #expect(conf.bind == binds)
        #expect(conf.transports == [.udp])
        #expect(conf.advertisedHost == "sip.example.com")
        #expect(conf.userAgent == "Verigate test")
        #expect(conf.maxCalls == 200 && conf.retryAfterSeconds == 10 && conf.maxTransactionsPerSource == 64 && conf.maxTransactions == 1000)
        #expect(conf.maxTCPConnections == 10 && conf.tcpIdleTimeout == .seconds(60))
        #expect(conf.media.rtpPorts == 20000...20099)
        #expect(conf.media.rtpAddress == "192.0.2.1")
        #expect(conf.media.codecs == [.opus, .pcmu, .pcma])
        #expect(conf.media.promptLocale == "zh-TW")
        #expect(conf.media.maxWrongCodesPerCall == 5 && conf.media.firstDigitTimeout == .seconds(8) && conf.media.interDigitTimeout == .seconds(3))
        #expect(conf.systemNumbers == ["+886229996666", "+886229996667", "+15555550100"])
        #expect(conf.region == "US" && conf.useRemotePartyID)
        #expect(conf.missedCallRingTime == .zero && conf.missedCallRejectStatus == 486 && conf.noVerificationStatus == 480)
        #expect(conf.coreTimeout == .milliseconds(500))
        #expect(conf.outboundTarget == "sip:{number}@192.0.2.20:5070;transport=tcp")
        #expect(conf.outboundCallerID == "+886229996666")
        #expect(conf.peers == [
            GatewayPeer(name: "carrier", networks: [IPNetwork("198.51.100.0/24")!, IPNetwork("2001:db8::/32")!, IPNetwork("203.0.113.7")!], trusted: true, region: "TW", useRemotePartyID: true),
            GatewayPeer(name: "office", networks: [IPNetwork("10.0.0.0/8")!], trusted: false, region: "US", useRemotePartyID: false),
        ])

        let endpoint = conf.endpointConfiguration
        #expect(endpoint.udp == conf.bind)
        #expect(endpoint.tcp.isEmpty)
        #expect(endpoint.advertisedHost == "sip.example.com")
        let gateway = conf.gatewayConfiguration
        #expect(gateway.trustedPeers == conf.peers[0].networks)
        #expect(gateway.systemNumbers == conf.systemNumbers)
        // Per-peer policy: the carrier is trusted with region TW; the office is untrusted, region US,
        // no RPID; a stranger gets the [general] values.
        let carrier = gateway.callerPolicy(for: try SocketAddress(ipAddress: "198.51.100.9", port: 5060))
        #expect(carrier.trusted && carrier.region == "TW" && carrier.useRemotePartyID)
        let office = gateway.callerPolicy(for: try SocketAddress(ipAddress: "10.1.2.3", port: 5060))
        #expect(!office.trusted && office.region == "US" && !office.useRemotePartyID)
        let stranger = gateway.callerPolicy(for: try SocketAddress(ipAddress: "192.0.2.99", port: 5060))
        #expect(!stranger.trusted && stranger.region == "US" && stranger.useRemotePartyID)
        let v6 = gateway.callerPolicy(for: try SocketAddress(ipAddress: "2001:db8::5", port: 5060))
        #expect(v6.trusted)
        // Approval proof by transport unless set: the ACK over UDP, the INVITE over TCP.
        #expect(carrier.proof(reliableTransport: false) == .ack && carrier.proof(reliableTransport: true) == .invite)
        #expect(!carrier.trustFrom)
    }

    @Test("trust_from and approve_on per peer; a bad approve_on names the line and the choices")
    func approvalKeys() throws {
        let conf = try SIPConf.parse("""
            [trunk]
            type = peer
            host = 192.0.2.0/24
            trusted = yes
            trust_from = yes
            approve_on = invite
            [pbx]
            type = peer
            host = 10.0.0.0/8
            approve_on = ACK
            """)
        #expect(conf.peers[0].trustFrom && conf.peers[0].approveOn == .invite)
        #expect(!conf.peers[1].trustFrom && conf.peers[1].approveOn == .ack)
        let gateway = conf.gatewayConfiguration
        #expect(gateway.callerPolicy(for: try SocketAddress(ipAddress: "192.0.2.1", port: 5060)).proof(reliableTransport: false) == .invite)
        #expect(gateway.callerPolicy(for: try SocketAddress(ipAddress: "10.0.0.1", port: 5060)).proof(reliableTransport: true) == .ack)
        // The built-in loopback peer (no file) waits for the ACK over UDP and does not trust From.
        let loopback = SIPConf().gatewayConfiguration.callerPolicy(for: try SocketAddress(ipAddress: "127.0.0.1", port: 5060))
        #expect(loopback.trusted && !loopback.trustFrom && loopback.proof(reliableTransport: false) == .ack)
        var caught: SIPConfError?
        do {
            _ = try SIPConf.parse("[p]\ntype = peer\nhost = 10.0.0.1\napprove_on = bye\n")
        } catch {
            caught = error
        }
        #expect(caught?.line == 4 && caught?.description.contains("approve_on must be invite or ack") == true)
    }

    @Test("comments, blank lines, CRLF, bare addresses, and the caller's defaults for keys left out")
    func syntaxDetails() throws {
        var defaults = SIPConf()
        defaults.region = "JP"
        let conf = try SIPConf.parse("# hash comment\r\n\r\n[General]\r\n  bind = 192.0.2.5 ; inline\r\nbind=[2001:db8::1]\r\n[pbx]\ntype=peer\nhost=::1\n", defaults: defaults)
        let binds = [try SocketAddress(ipAddress: "192.0.2.5", port: 5060), try SocketAddress(ipAddress: "2001:db8::1", port: 5060)]
        #expect(conf.bind == binds)
        #expect(conf.region == "JP")
        #expect(conf.peers.map(\.region) == ["JP"])
        #expect(conf.peers.map(\.trusted) == [false])
        // A peer section before [general] still takes the [general] region.
        let early = try SIPConf.parse("[pbx]\ntype = peer\nhost = 192.0.2.1\n[general]\nregion = DE\n")
        #expect(early.peers.map(\.region) == ["DE"])
    }

    /// Each error kind, with its line and a message naming the problem.
    @Test("errors say file:line and what is wrong", arguments: [
        ("[general]\nbindaddr = 1.2.3.4\n", SIPConfError.Code.unknownKey, 2, "unknown key 'bindaddr' in [general]"),
        ("[pbx]\ntype = peer\nhost = 10.0.0.1\nsecret = x\n", .unknownKey, 4, "unknown key 'secret' in peer [pbx]"),
        ("[general]\n[misc]\nfoo = bar\n", .unknownSection, 2, "neither [general] nor a peer"),
        ("[general]\nmax_calls = 10\nmax_calls = 20\n", .duplicate, 3, "already set at line 2"),
        ("[general]\n[General]\n", .duplicate, 2, "already opened at line 1"),
        ("[general]\nallow = pcmu, pcmu\n", .duplicate, 2, "codec pcmu allowed twice"),
        ("[a]\ntype = peer\nhost = 10.0.0.0/8\n[b]\ntype = peer\nhost = 10.0.0.0/8\n", .duplicate, 6, "already in peer [a]"),
        ("[general]\nmax_calls = lots\n", .badValue, 2, "max_calls must be a whole number"),
        ("[general]\nmax_calls = 0\n", .badValue, 2, "from 1 to 1000000"),
        ("[general]\ncore_timeout = 2\n", .badValue, 2, "duration like 1500ms or 2s"),
        ("[general]\nmissed_call_ring_time = 61s\n", .badValue, 2, "missed_call_ring_time must be a duration"),
        ("[general]\nmissed_call_reject = 302\n", .badValue, 2, "from 400 to 699"),
        ("[general]\nno_verification_reject = 7000\n", .badValue, 2, "no_verification_reject must be a final SIP status"),
        ("[general]\nallow = g729\n", .badValue, 2, "unknown codec 'g729'"),
        ("[general]\ndisallow = all\n", .badValue, 2, "no codec allowed"),
        ("[general]\nlanguage = fr\n", .badValue, 2, "language must be one of en, zh-TW"),
        ("[general]\nsystem_number = 0229996666\n", .badValue, 2, "system_number must be E.164"),
        ("[general]\nregion = Taiwan\n", .badValue, 2, "ISO 3166 alpha-2"),
        ("[general]\nuse_rpid = maybe\n", .badValue, 2, "use_rpid must be yes or no"),
        ("[general]\nbind = example.com:5060\n", .badValue, 2, "literal IP address"),
        ("[general]\nbind = 127.0.0.1:70000\n", .badValue, 2, "port must be 0-65535"),
        ("[general]\ntransport = tls\n", .badValue, 2, "transport must be udp or tcp"),
        ("[general]\nrtp_start = 20000\nrtp_end = 10000\n", .badValue, 3, "holds no even RTP port"),
        ("[general]\nrtp_start = 80\n", .badValue, 2, "rtp_start must be a whole number from 1024"),
        ("[general]\nrtp_address = rtp.example.com\n", .badValue, 2, "rtp_address must be a literal"),
        ("[general]\nretry_after = 1500ms\n", .badValue, 2, "whole seconds"),
        ("[general]\noutbound_target = sip:alice@127.0.0.1\n", .badValue, 2, "must contain {number}"),
        ("[general]\noutbound_target = http://{number}\n", .badValue, 2, "sip: or sips: URI"),
        ("[general]\noutbound_target = sip:{number}@trunk.example.com\n", .badValue, 2, "literal IP address"),
        ("[general]\nallow = pcmu,,pcma\n", .badValue, 2, "empty item"),
        ("[general]\nadvertised_host = bad host\n", .badValue, 2, "advertised_host must be a host name"),
        ("[pbx]\ntype = peer\nhost = pbx.example.com\n", .badValue, 3, "host must be an IP address or CIDR"),
        ("[pbx]\ntype = peer\nhost = 10.0.0.0/33\n", .badValue, 3, "host must be an IP address or CIDR"),
        ("[pbx]\ntype = peer\ntrusted = yes\n", .missingKey, 1, "needs host"),
        ("[pbx]\ntype = friend\nhost = 10.0.0.1\n", .unsupported, 2, "type must be peer"),
        ("[pbx](!)\ntype = peer\n", .unsupported, 1, "templates"),
        ("#include other.conf\n", .unsupported, 1, "#include is not supported"),
        ("bind = 127.0.0.1\n", .syntax, 1, "before any [section]"),
        ("[general]\njust some words\n", .syntax, 2, "expected 'key = value'"),
        ("[general\n", .syntax, 1, "without ']'"),
        ("[gen eral]\n", .syntax, 1, "section name"),
        ("[general]\n= value\n", .syntax, 2, "bad key"),
    ])
    func errors(text: String, code: SIPConfError.Code, line: Int, message: String) throws {
        let error = try #require(failure(text))
        #expect(error.code == code, "\(error)")
        #expect(error.line == line, "\(error)")
        #expect(error.file == "t.conf")
        #expect(error.description.hasPrefix("t.conf:\(line): "), "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test("size limits: 1 MiB, 10,000 lines, 4 KiB per line")
    func limits() throws {
        #expect(throws: Never.self) { try SIPConf.parse(String(repeating: "; comment\n", count: SIPConf.maxLines - 1) + "[general]\n") }
        let manyLines = String(repeating: "; comment\n", count: SIPConf.maxLines) + "[general]\n"
        let lines = try #require(failure(manyLines))
        #expect(lines.code == .tooLarge && lines.line == SIPConf.maxLines + 1, "\(lines)")
        let longLine = "[general]\nuser_agent = " + String(repeating: "x", count: SIPConf.maxLineLength) + "\n"
        let long = try #require(failure(longLine))
        #expect(long.code == .tooLarge && long.line == 2, "\(long)")
        let big = try #require(failure(String(repeating: ";" + String(repeating: "x", count: 1_000) + "\n", count: 1_100)))
        #expect(big.code == .tooLarge && big.line == 0, "\(big)")
        #expect(big.description.hasPrefix("t.conf: "))
    }

    @Test("files: missing, a directory, not UTF-8, too big on disk")
    func files() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sipconf-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func loadError(_ path: String) -> SIPConfError? {
            do { _ = try SIPConf.load(path: path); return nil } catch { return error }
        }
        #expect(loadError(directory.appendingPathComponent("none.conf").path)?.code == .unreadable)
        #expect(loadError(directory.path)?.code == .unreadable)
        let latin1 = directory.appendingPathComponent("latin1.conf")
        try Data([0x3B, 0xE9, 0x0A]).write(to: latin1)
        #expect(loadError(latin1.path)?.code == .unreadable)
        let big = directory.appendingPathComponent("big.conf")
        try Data(repeating: 0x3B, count: SIPConf.maxFileSize + 1).write(to: big)
        let error = try #require(loadError(big.path))
        #expect(error.code == .tooLarge)
        #expect(error.description == "\(big.path): the file has \(SIPConf.maxFileSize + 1) bytes, more than \(SIPConf.maxFileSize)")
        let good = directory.appendingPathComponent("good.conf")
        try Data("[general]\nmax_calls = 7\nfoo = 1\n".utf8).write(to: good)
        #expect(loadError(good.path)?.description == "\(good.path):3: unknown key 'foo' in [general]; known: \(SIPConf.generalKeys.joined(separator: ", "))")
    }
}
