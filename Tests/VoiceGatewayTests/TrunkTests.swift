import Foundation
import NIOCore
import RTP
import SIPMessage
import Testing
@testable import VoiceGateway

@Suite("Trunks: sip.conf sections, number formats, routes")
struct TrunkTests {
    func failure(_ text: String) -> SIPConfError? {
        do {
            _ = try SIPConf.parse(text, file: "t.conf")
            return nil
        } catch {
            return error
        }
    }

    static let twoTrunks = """
        [general]
        route = + -> ipauth
        route = +886 -> flowroute, ipauth
        route = +8869 -> ipauth
        [ipauth]
        type = trunk
        host = 192.0.2.10:5080
        transport = tcp
        trusted = yes
        trust_from = yes
        approve_on = invite
        media_latching = signalling
        inbound_region = TW
        number_format = national
        called_number = diversion
        from_user = +886229996666
        from_domain = example.net
        register = no
        qualify = no
        register_expiry = 600s
        [flowroute]
        type = trunk
        host = [2001:db8::1]
        username = acct
        auth_username = acct-auth
        password = s3cret
        realm = sip.example
        outbound_proxy = 198.51.100.1:5062
        number_format = tech_prefix
        tech_prefix = 12345678*

        """

    @Test("a trunk section: every key read, and the trunk is a peer by its host address")
    func parsesTrunks() throws {
        let conf = try SIPConf.parse(Self.twoTrunks, file: "t.conf")
        #expect(conf.trunks.map(\.name) == ["ipauth", "flowroute"])
        let ip = conf.trunks[0]
        #expect(ip.host == "192.0.2.10" && ip.port == 5080 && ip.transport == .tcp)
        #expect(ip.numberFormat == .national && ip.region == "TW" && ip.calledNumber == .diversion)
        #expect(ip.fromUser == "+886229996666" && ip.fromDomain == "example.net" && ip.registerExpiry == .seconds(600) && !ip.register)
        let fr = conf.trunks[1]
        #expect(fr.host == "2001:db8::1" && fr.port == nil && fr.transport == nil)
        #expect(fr.numberFormat == .techPrefix("12345678*") && fr.username == "acct" && fr.authUsername == "acct-auth" && fr.password == "s3cret")
        #expect(try fr.realm == "sip.example" && fr.outboundProxy == (SocketAddress(ipAddress: "198.51.100.1", port: 5062)))
        #expect(conf.routes == [OutboundRoute(prefix: "+", trunks: ["ipauth"]), OutboundRoute(prefix: "+886", trunks: ["flowroute", "ipauth"]),
                                OutboundRoute(prefix: "+8869", trunks: ["ipauth"])])
        let gateway = conf.gatewayConfiguration
        let fromTrunk = try SocketAddress(ipAddress: "192.0.2.10", port: 40_000)
        #expect(gateway.trunk(for: fromTrunk)?.name == "ipauth")
        let policy = gateway.callerPolicy(for: fromTrunk)
        #expect(policy.trusted && policy.trustFrom && policy.approveOn == .invite && policy.region == "TW")
        #expect(gateway.mediaLatching(for: SIPPeer(.udp, fromTrunk)) == .signallingSource)
        #expect(try gateway.mediaLatching(for: SIPPeer(.udp, SocketAddress(ipAddress: "2001:db8::1", port: 5060))) == .off)
        #expect(try gateway.trunk(for: SocketAddress(ipAddress: "2001:db8::1", port: 5060))?.name == "flowroute")
        #expect(try gateway.trunk(for: SocketAddress(ipAddress: "192.0.2.11", port: 5060)) == nil)
        #expect(try !gateway.callerPolicy(for: SocketAddress(ipAddress: "2001:db8::1", port: 5060)).trusted)
    }

    @Test("password_file: the first line is the password")
    func passwordFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trunk-pw-\(UUID().uuidString)").path
        try "from-file\nignored\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let conf = try SIPConf.parse("[t]\ntype = trunk\nhost = 192.0.2.1\nusername = u\npassword_file = \(path)\n")
        #expect(conf.trunks.first?.password == "from-file")
    }

    @Test("every trunk mistake is refused with file:line", arguments: [
        ("[t]\ntype = trunk\n", SIPConfError.Code.missingKey, 1, "needs host"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1:99999\n", .badValue, 3, "port must be 1-65535"),
        ("[t]\ntype = trunk\nhost = bad_host!\n", .badValue, 3, "host must be a host name or IP address"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nhost = 192.0.2.2\n", .duplicate, 4, "already set at line 3"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nsecret = x\n", .unknownKey, 4, "unknown key 'secret' in trunk [t]"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\ntransport = sctp\n", .badValue, 4, "transport must be udp, tcp or tls"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nnumber_format = local\n", .badValue, 4, "number_format must be e164, e164_no_plus, national or tech_prefix"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nnumber_format = tech_prefix\n", .missingKey, 4, "needs tech_prefix"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nnumber_format = tech_prefix\ntech_prefix = 12a\n", .badValue, 5, "tech_prefix must be 1-16 digits"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\ntech_prefix = 123*\n", .badValue, 4, "only with number_format = tech_prefix"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\ninbound_region = ZZ\nnumber_format = national\n", .badValue, 5, "known numbering plan"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\ninbound_region = Taiwan\n", .badValue, 4, "ISO 3166 alpha-2"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\ncalled_number = from\n", .badValue, 4, "called_number must be request_uri, to or diversion"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\ntrusted = maybe\n", .badValue, 4, "trusted must be yes or no"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\napprove_on = bye\n", .badValue, 4, "approve_on must be invite or ack"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nmedia_latching = maybe\n", .badValue, 4, "media_latching must be no, signalling or yes"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\npassword = x\n", .missingKey, 4, "a password needs username"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nusername = u\n", .missingKey, 4, "username needs password"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nusername = u\npassword = x\npassword_file = /p\n", .duplicate, 6, "password or password_file, not both"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nusername = u\npassword_file = /nonexistent/pw\n", .unreadable, 5, "password_file '/nonexistent/pw' cannot be read"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nusername = a b\npassword = x\n", .badValue, 4, "username must be 1-128 printable"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nfrom_user = a@b\n", .badValue, 4, "from_user must be"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\noutbound_proxy = proxy.example\n", .unsupported, 4, "only a trunk's host is resolved"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nregister = yes\n", .missingKey, 4, "register = yes needs username and password"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nusername = u\npassword = p\nregister = yes\ncontact_user = a@b\n", .badValue, 7, "contact_user must be"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nregister = often\n", .badValue, 4, "register must be yes or no"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nregister_expiry = 10s\n", .badValue, 4, "register_expiry must be a duration"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nqualify = 500ms\n", .badValue, 4, "qualify must be no or an interval of 1s to 1h"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nqualify = 2h\n", .badValue, 4, "qualify must be a duration"),
        ("[t]\ntype = trunk\nhost = 192.0.2.1\nqualify = sometimes\n", .badValue, 4, "qualify must be a duration"),
        ("[general]\ndns_server = dns.example:53\n", .badValue, 2, "dns_server must be a literal IP address"),
        ("[general]\ndns_server = 127.0.0.1:99999\n", .badValue, 2, "the port must be 1-65535"),
        ("[t]\ntype = user\nhost = 192.0.2.1\n", .unsupported, 2, "type must be peer or trunk"),
        ("[general]\nroute = +886 carrier\n", .badValue, 2, "route must be '<E.164 prefix> -> trunk"),
        ("[general]\nroute = 886 -> t\n[t]\ntype = trunk\nhost = 192.0.2.1\n", .badValue, 2, "a route prefix must be '+'"),
        ("[general]\nroute = +886 -> nobody\n", .badValue, 2, "no trunk [nobody]; trunks: none"),
        ("[general]\nroute = +886 -> t, t\n[t]\ntype = trunk\nhost = 192.0.2.1\n", .duplicate, 2, "trunk t listed twice"),
        ("[general]\nroute = +886 -> t\nroute = +886 -> t\n[t]\ntype = trunk\nhost = 192.0.2.1\n", .duplicate, 3, "already set at line 2"),
        ("[general]\nroute = +886 -> t,\n[t]\ntype = trunk\nhost = 192.0.2.1\n", .badValue, 2, "empty item"),
    ])
    func mistakes(text: String, code: SIPConfError.Code, line: Int, message: String) throws {
        let error = try #require(failure(text), "accepted: \(text)")
        #expect(error.code == code, "\(error)")
        #expect(error.line == line, "\(error)")
        #expect(error.description.hasPrefix("t.conf:\(line): "), "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test("a registration trunk: register = yes with credentials, contact_user (default the section name); its inbound calls are matched by Contact user plus host address")
    func registrationTrunk() throws {
        let conf = try SIPConf.parse("""
            [ipauth]
            type = trunk
            host = 192.0.2.10
            [telnyx]
            type = trunk
            host = 192.0.2.10:5080
            username = acct
            password = s3cret
            register = yes
            register_expiry = 120s
            called_number = to
            trusted = yes
            [other]
            type = trunk
            host = 192.0.2.20
            username = acct
            password = s3cret
            register = yes
            contact_user = other-1
            """, file: "t.conf")
        let telnyx = try #require(conf.trunks.first { $0.name == "telnyx" })
        #expect(telnyx.register && telnyx.registerExpiry == .seconds(120) && telnyx.contactUser == "telnyx" && telnyx.calledNumber == .to)
        #expect(conf.trunks.first { $0.name == "other" }?.contactUser == "other-1")
        let gateway = conf.gatewayConfiguration
        let provider = try SocketAddress(ipAddress: "192.0.2.10", port: 5080)
        // By address alone the first section sharing it wins; our Contact user names the trunk.
        #expect(gateway.trunk(for: provider)?.name == "ipauth")
        #expect(try gateway.trunk(for: provider, requestURI: SIPAnyURI(parsing: "sip:telnyx@198.51.100.7:5060"))?.name == "telnyx")
        #expect(gateway.callerPolicy(for: provider, trunk: gateway.trunk(for: provider, requestURI: try SIPAnyURI(parsing: "sip:telnyx@198.51.100.7"))).trusted)
        #expect(!gateway.callerPolicy(for: provider).trusted)
        // The Contact user from elsewhere than the trunk's host is not that trunk's call.
        #expect(try gateway.trunk(for: SocketAddress(ipAddress: "203.0.113.5", port: 5060), requestURI: SIPAnyURI(parsing: "sip:telnyx@198.51.100.7")) == nil)
        #expect(try gateway.trunk(for: SocketAddress(ipAddress: "192.0.2.20", port: 5060), requestURI: SIPAnyURI(parsing: "sip:telnyx@198.51.100.7"))?.name == "other")
    }

    @Test("inbound numbers in every trunk format reach the same E.164 number", arguments: [
        ("+886229996666", nil, "TW", "+886229996666"),
        ("886229996666", nil, "TW", "+886229996666"),
        ("0229996666", nil, "TW", "+886229996666"),
        ("12345678*886229996666", "12345678*", "TW", "+886229996666"),
        ("12345678*+886229996666", "12345678*", "TW", "+886229996666"),
        ("12345678*0229996666", "12345678*", "TW", "+886229996666"),
        ("0975000888", nil, "TW", "+886975000888"),
        ("447700900123", nil, "TW", "+447700900123"),  // Vonage: E.164 without +
        ("07700900123", nil, "GB", "+447700900123"),
        ("12125550100", nil, "US", "+12125550100"),
        ("2125550100", nil, "US", "+12125550100"),
        ("0229996666", nil, "ZZ", "0229996666"),  // no plan: as received, for the core
        ("anonymous", nil, "TW", "anonymous"),
    ] as [(String, String?, String, String)])
    func inbound(raw: String, techPrefix: String?, region: String, expected: String) {
        #expect(TrunkNumbers.inbound(raw, techPrefix: techPrefix, region: region) == expected)
    }

    @Test("outbound numbers in each trunk format", arguments: [
        ("+886229996666", TrunkNumberFormat.e164, "TW", "+886229996666"),
        ("+886229996666", .e164NoPlus, "TW", "886229996666"),
        ("+886229996666", .national, "TW", "0229996666"),
        ("+447700900123", .national, "TW", "+447700900123"),  // another country: E.164
        ("+12125550100", .national, "US", "12125550100"),
        ("+886229996666", .techPrefix("12345678*"), "TW", "12345678*886229996666"),
    ])
    func outbound(number: String, format: TrunkNumberFormat, region: String, expected: String) {
        #expect(TrunkNumbers.outbound(number, format: format, region: region) == expected)
        // And back: what we send a trunk, it may send us; it reads as the same number.
        let prefix: String? = if case .techPrefix(let p) = format { p } else { nil }
        #expect(TrunkNumbers.inbound(expected, techPrefix: prefix, region: region) == number)
    }

    @Test("routes: the longest prefix wins; its trunks in order, in their formats; outbound_target otherwise")
    func routeSelection() throws {
        var gateway = try SIPConf.parse(Self.twoTrunks).gatewayConfiguration
        #expect(gateway.route(for: "+886229996666")?.prefix == "+886")
        #expect(gateway.route(for: "+886912345678")?.prefix == "+8869")
        #expect(gateway.route(for: "+14155550100")?.prefix == "+")
        let attempts = gateway.outboundAttempts(for: "+886229996666")
        #expect(attempts.map(\.trunk) == ["flowroute", "ipauth"])
        #expect(attempts[0].uri.description == "sip:12345678*886229996666@[2001:db8::1]")
        #expect(try attempts[0].destination == SIPPeer(.udp, SocketAddress(ipAddress: "198.51.100.1", port: 5062)))
        #expect(attempts[0].credentials?.username == "acct-auth" && attempts[0].credentials?.password == "s3cret")
        #expect(attempts[0].fromUser == "verigate" && attempts[0].fromDomain == nil)
        #expect(attempts[1].uri.description == "sip:0229996666@192.0.2.10:5080;transport=tcp")
        #expect(try attempts[1].destination == SIPPeer(.tcp, SocketAddress(ipAddress: "192.0.2.10", port: 5080)))
        #expect(attempts[1].fromUser == "+886229996666" && attempts[1].fromDomain == "example.net" && attempts[1].credentials == nil)
        // No routes: outbound_target is the one route.
        gateway.routes = []
        gateway.outboundTarget = "sip:{number}@127.0.0.1:5070"
        let simple = gateway.outboundAttempts(for: "+886229996666")
        #expect(simple.map(\.uri.description) == ["sip:+886229996666@127.0.0.1:5070"] && simple[0].trunk == nil && simple[0].destination == nil)
        gateway.outboundTarget = nil
        #expect(gateway.outboundAttempts(for: "+886229996666").isEmpty)
    }

    @Test("failover on 503, 408, timeout and transport errors only")
    func failoverEnds() {
        for end: SIPCallEnd in [.failed(statusCode: 503, reason: "Service Unavailable"), .failed(statusCode: 408, reason: "Request Timeout"), .timeout, .transportError] {
            #expect(GatewayConfiguration.triesNextTrunk(after: end), "\(end)")
        }
        for end: SIPCallEnd in [.failed(statusCode: 486, reason: "Busy Here"), .failed(statusCode: 404, reason: "Not Found"), .noAnswer, .remoteHangUp, .shutdown] {
            #expect(!GatewayConfiguration.triesNextTrunk(after: end), "\(end)")
        }
    }

    @Test("the called number from the Request-URI, To, or the first Diversion / History-Info entry")
    func calledNumberSources() {
        func invite(_ extra: [(SIPHeaderName, String)]) -> SIPRequest {
            var headers = SIPHeaders()
            headers.add(.via, "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx")
            headers.add(.from, "<sip:447700900123@192.0.2.10>;tag=1")
            headers.add(.to, "<sip:0229996666@192.0.2.10>")
            headers.add(.callID, "c")
            headers.add(.cseq, "1 INVITE")
            for (name, value) in extra { headers.add(name, value) }
            return SIPRequest(method: .invite, uriText: "sip:verigate-contact@127.0.0.1", headers: headers)
        }
        var trunk = Trunk(name: "t", host: "192.0.2.10")
        #expect(trunk.rawCalledNumber(of: invite([])) == nil)  // the Request-URI user is no number
        trunk.calledNumber = .to
        #expect(trunk.rawCalledNumber(of: invite([])) == "0229996666")
        trunk.calledNumber = .diversion
        #expect(trunk.rawCalledNumber(of: invite([(SIPHeaderName("Diversion"), "<sip:886229996666@carrier>;reason=unconditional, <sip:+15555550100@x>")])) == "886229996666")
        #expect(trunk.rawCalledNumber(of: invite([(SIPHeaderName("History-Info"), "<sip:+886229996666@carrier>;index=1, <sip:verigate@gw>;index=1.1")])) == "+886229996666")
        #expect(trunk.rawCalledNumber(of: invite([])) == nil)  // neither header: the Request-URI
    }
}

extension TrunkTests {
    @Test("a tech-prefixed Request-URI user (with '*', no digit) is read after the trunk's prefix")
    func techPrefixedRequestURI() {
        var headers = SIPHeaders()
        headers.add(.via, "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx")
        headers.add(.from, "<sip:447700900123@192.0.2.10>;tag=1")
        headers.add(.to, "<sip:12345678*886229996666@192.0.2.10>")
        headers.add(.callID, "c")
        headers.add(.cseq, "1 INVITE")
        let request = SIPRequest(method: .invite, uriText: "sip:12345678*886229996666@127.0.0.1", headers: headers)
        let trunk = Trunk(name: "t", host: "192.0.2.10", numberFormat: .techPrefix("12345678*"))
        #expect(trunk.rawCalledNumber(of: request) == "886229996666")
        #expect(Trunk(name: "t", host: "192.0.2.10").rawCalledNumber(of: request) == nil, "without the prefix configured it is no number")
    }
}
