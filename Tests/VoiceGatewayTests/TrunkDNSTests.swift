// Trunk host names (RFC 3263 §4, §4.3) and qualify (RFC 3261 §11) as values: sip.conf keys, the
// attempts a route expands into, resolved source addresses, the up/down bookkeeping on a manual
// clock; and a trunk's next hops from a real dnsmasq.
import Foundation
import NIOCore
import Testing
@testable import VoiceGateway

@Suite("Trunk host names and qualify", .timeLimit(.minutes(2)))
struct TrunkDNSTests {
    static let conf = """
        [general]
        dns_server = 127.0.0.1:5353
        route = +886 -> named, literal
        [named]
        type = trunk
        host = trunk.test
        trusted = yes
        qualify = 30
        [literal]
        type = trunk
        host = 192.0.2.10:5080
        qualify = 2s

        """

    static func peer(_ ip: String, _ port: Int, _ transport: SIPTransportProtocol = .udp) -> SIPPeer {
        SIPPeer(transport, try! SocketAddress(ipAddress: ip, port: port))
    }

    @Test("sip.conf: dns_server (default port 53, IPv6 bracketed), a trunk host name, qualify in seconds or off")
    func parses() throws {
        let conf = try SIPConf.parse(Self.conf, file: "t.conf")
        #expect(conf.dnsServer == "127.0.0.1:5353" && conf.gatewayConfiguration.dnsServer == "127.0.0.1:5353")
        #expect(conf.trunks.map(\.host) == ["trunk.test", "192.0.2.10"])
        #expect(conf.trunks.map(\.qualify) == [.seconds(30), .seconds(2)])
        #expect(conf.trunks[0].hostIsName && !conf.trunks[1].hostIsName && conf.trunks[0].nextHop == nil)
        #expect(conf.peers[0].networks.isEmpty, "a name has no source address until resolved")
        #expect(try SIPConf.parse("[general]\ndns_server = ::1\n").dnsServer == "[::1]:53")
        #expect(try SIPConf.parse("[general]\ndns_server = 192.0.2.53\n").dnsServer == "192.0.2.53:53")
        #expect(try SIPConf.parse("[t]\ntype = trunk\nhost = 192.0.2.1\nqualify = no\n").trunks[0].qualify == nil)
        #expect(try SIPConf.parse("[t]\ntype = trunk\nhost = 192.0.2.1\nqualify = 0\n").trunks[0].qualify == nil)
        #expect(SIPConf().dnsServer == nil)
    }

    @Test("a trunk with a host name: one attempt to resolve, whose targets keep its URI and become the attempts in order")
    func attemptExpansion() throws {
        let gateway = try SIPConf.parse(Self.conf).gatewayConfiguration
        let attempts = gateway.outboundAttempts(for: "+886229996666")
        #expect(attempts.map(\.trunk) == ["named", "literal"])
        #expect(attempts[0].resolvesHost && attempts[0].destination == nil)
        #expect(attempts[0].uri.description == "sip:+886229996666@trunk.test")
        #expect(!attempts[1].resolvesHost && attempts[1].destination == Self.peer("192.0.2.10", 5080))
        let targets = [
            SIPServerTarget(peer: Self.peer("127.0.0.2", 5070), host: "a.trunk.test", ttl: 30),
            SIPServerTarget(peer: Self.peer("127.0.0.3", 5071, .tcp), host: "b.trunk.test", ttl: 60),
        ]
        let expanded = attempts[0].expanded(over: targets)
        #expect(expanded.map(\.destination) == [Self.peer("127.0.0.2", 5070), Self.peer("127.0.0.3", 5071, .tcp)])
        #expect(expanded.allSatisfy { $0.uri == attempts[0].uri && $0.trunk == "named" && !$0.resolvesHost })
        #expect(attempts[0].expanded(over: []).isEmpty, "a name without targets leaves no attempt: the route's next trunk follows")
    }

    @Test("routing skips down trunks, but tries them all when every one is down; outbound_target is never down")
    func availableFirst() throws {
        let attempts = try SIPConf.parse(Self.conf).gatewayConfiguration.outboundAttempts(for: "+886229996666")
        #expect(OutboundAttempt.availableFirst(attempts, down: []).map(\.trunk) == ["named", "literal"])
        #expect(OutboundAttempt.availableFirst(attempts, down: ["named"]).map(\.trunk) == ["literal"])
        #expect(OutboundAttempt.availableFirst(attempts, down: ["named", "literal"]).map(\.trunk) == ["named", "literal"])
        var target = GatewayConfiguration()
        target.outboundTarget = "sip:{number}@127.0.0.1:5070"
        #expect(OutboundAttempt.availableFirst(target.outboundAttempts(for: "+886229996666"), down: ["named"]).count == 1)
    }

    @Test("qualify bookkeeping: up at first, down after two misses in a row, up again on any final response")
    func availability() {
        let clock = ManualClock()
        var state = TrunkAvailability()
        #expect(state.isUp)
        #expect(state.record(.answered(200), at: clock.now) == nil)
        #expect(state.record(.missed, at: clock.now) == nil && state.isUp && state.misses == 1)
        #expect(state.record(.answered(404), at: clock.now) == nil && state.misses == 0, "an answer resets the misses: 404 is an answer")
        clock.advance(.seconds(30))
        #expect(state.record(.missed, at: clock.now) == nil)
        clock.advance(.seconds(30))
        #expect(state.record(.missed, at: clock.now) == .down(misses: 2) && !state.isUp)
        clock.advance(.seconds(30))
        #expect(state.record(.missed, at: clock.now) == nil, "already down: no second change")
        clock.advance(.seconds(15))
        #expect(state.record(.answered(501), at: clock.now) == .up(after: .seconds(45)) && state.isUp && state.lastStatus == 501)
        #expect(state.downSince == nil)
    }

    @Test("the addresses a trunk's name resolved to are its source addresses: trunk, trust and latching follow")
    func resolvedSourceAddresses() throws {
        let gateway = try SIPConf.parse(Self.conf).gatewayConfiguration
        let source = try SocketAddress(ipAddress: "127.0.0.2", port: 40_000)
        #expect(gateway.trunk(for: source) == nil && !gateway.callerPolicy(for: source).trusted)
        gateway.trunkAddresses.update("named", [SIPServerTarget(peer: Self.peer("127.0.0.2", 5070), host: "a.trunk.test", ttl: 30)])
        #expect(gateway.trunk(for: source)?.name == "named")
        #expect(gateway.callerPolicy(for: source).trusted)
        // A failed lookup (no targets) keeps the last addresses.
        gateway.trunkAddresses.update("named", [])
        #expect(gateway.trunkAddresses.addresses(of: "named") == ["127.0.0.2"])
        gateway.trunkAddresses.update("named", [SIPServerTarget(peer: Self.peer("127.0.0.3", 5070), host: "a.trunk.test", ttl: 30)])
        #expect(gateway.trunk(for: source) == nil, "a new answer replaces the old addresses")
    }

    @Test("a trunk's next hops from dnsmasq: the name by NAPTR/SRV, with a port by A only, with TCP by its SRV; a proxy or a literal IP asks nothing")
    func nextHopsFromDNS() async throws {
        guard let dnsmasq = try await Dnsmasq.start(SIPServerLocatorTests.records) else { return }
        let resolver = try DNSResolver(.init(server: dnsmasq.server, timeout: .milliseconds(500), tries: 2))
        defer { resolver.shutdown() }
        let locator = SIPServerLocator(dns: DNSCache(resolver))
        let named = Trunk(name: "n", host: "trunk.test")
        let found = try await locator.nextHops(for: named)
        #expect(found.map(\.peer) == [Self.peer("127.0.0.2", 5070), Self.peer("127.0.0.3", 5072), Self.peer("::1", 5072), Self.peer("127.0.0.2", 5071, .tcp)])
        let withPort = try await locator.nextHops(for: Trunk(name: "p", host: "trunk.test", port: 5090))
        #expect(withPort.map(\.peer) == [Self.peer("127.0.0.9", 5090)])
        let overTCP = try await locator.nextHops(for: Trunk(name: "t", host: "trunk.test", transport: .tcp))
        #expect(overTCP.map(\.peer) == [Self.peer("127.0.0.2", 5071, .tcp)])
        // Over TLS the certificate must name the trunk's host, not the address it resolved to (RFC 5922 §7.2).
        let overTLS = try await locator.nextHops(for: Trunk(name: "s", host: "trunk.test", port: 5091, transport: .tls))
        #expect(overTLS.map(\.peer) == [Self.peer("127.0.0.9", 5091, .tls)])
        #expect(overTLS.map(\.peer.serverName) == ["trunk.test"])
        var proxied = Trunk(name: "x", host: "missing.test")
        proxied.outboundProxy = try SocketAddress(ipAddress: "192.0.2.1", port: 5062)
        let viaProxy = try await locator.nextHops(for: proxied)
        #expect(viaProxy.map(\.peer) == [Self.peer("192.0.2.1", 5062)])
        #expect(!dnsmasq.output.contains("missing.test"), "the proxy is the next hop: the host is not looked up")
        await #expect(throws: DNSError.nonexistentDomain("missing.test")) { try await locator.nextHops(for: Trunk(name: "m", host: "missing.test")) }
        await dnsmasq.stop()
    }
}
