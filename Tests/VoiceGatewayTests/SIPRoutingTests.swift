import NIOCore
import SIPMessage
import Testing
@testable import VoiceGateway

@Suite("SIP routing (RFC 3261 §18.2, RFC 3581)")
struct SIPRoutingTests {
    private func request(via: String) throws -> SIPRequest {
        var headers = SIPHeaders()
        headers.add(.via, via)
        headers.add(.cseq, "1 OPTIONS")
        return SIPRequest(method: .options, uriText: "sip:gw@127.0.0.1", headers: headers)
    }

    @Test("empty rport is filled with the source port and received is added (RFC 3581 §4)")
    func rportFilled() throws {
        var request = try request(via: "SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bKabc;rport")
        SIPRouting.stampReceived(&request, from: try SocketAddress(ipAddress: "192.0.2.4", port: 40_000))
        let via = try request.headers.topVia()
        #expect(via.received == "192.0.2.4")
        #expect(via.rport == .some(40_000))
        #expect(SIPRouting.responseDestination(topVia: via) == (try SocketAddress(ipAddress: "192.0.2.4", port: 40_000)))
    }

    @Test("received only when sent-by differs from the source, response to sent-by port (§18.2.2)")
    func receivedWithoutRport() throws {
        var same = try request(via: "SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKabc")
        SIPRouting.stampReceived(&same, from: try SocketAddress(ipAddress: "192.0.2.4", port: 40_000))
        #expect(try same.headers.topVia().received == nil)
        #expect(SIPRouting.responseDestination(topVia: try same.headers.topVia()) == (try SocketAddress(ipAddress: "192.0.2.4", port: 5062)))

        var natted = try request(via: "SIP/2.0/UDP pc33.example.com;branch=z9hG4bKabc")
        SIPRouting.stampReceived(&natted, from: try SocketAddress(ipAddress: "192.0.2.9", port: 40_000))
        let via = try natted.headers.topVia()
        #expect(via.received == "192.0.2.9")
        #expect(SIPRouting.responseDestination(topVia: via) == (try SocketAddress(ipAddress: "192.0.2.9", port: 5060)))
    }

    @Test("IPv6 sources are stamped without brackets and routed back")
    func ipv6() throws {
        var request = try request(via: "SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bKabc;rport")
        SIPRouting.stampReceived(&request, from: try SocketAddress(ipAddress: "::1", port: 5999))
        let via = try request.headers.topVia()
        #expect(via.received == "::1")
        #expect(SIPRouting.responseDestination(topVia: via) == (try SocketAddress(ipAddress: "::1", port: 5999)))
    }

    @Test("requests go to the first Route, maddr wins, transport from the URI, hostnames refused")
    func requestDestination() throws {
        let uri = try SIPAnyURI(parsing: "sip:0975000888@127.0.0.1:5070")
        #expect(SIPRouting.requestDestination(requestURI: uri, routes: []) == SIPPeer(.udp, try SocketAddress(ipAddress: "127.0.0.1", port: 5070)))
        let route = try SIPNameAddress(parsing: "<sip:127.0.0.2:5080;lr;transport=tcp>")
        #expect(SIPRouting.requestDestination(requestURI: uri, routes: [route]) == SIPPeer(.tcp, try SocketAddress(ipAddress: "127.0.0.2", port: 5080)))
        let maddr = try SIPAnyURI(parsing: "sip:x@example.com;maddr=127.0.0.3")
        #expect(SIPRouting.requestDestination(requestURI: maddr, routes: []) == SIPPeer(.udp, try SocketAddress(ipAddress: "127.0.0.3", port: 5060)))
        #expect(SIPRouting.requestDestination(requestURI: try SIPAnyURI(parsing: "sip:x@example.com"), routes: []) == nil)
        #expect(SIPRouting.requestDestination(requestURI: try SIPAnyURI(parsing: "tel:+886975000888"), routes: []) == nil)
        #expect(SIPRouting.requestDestination(requestURI: try SIPAnyURI(parsing: "sip:x@[::1]:5090"), routes: []) == SIPPeer(.udp, try SocketAddress(ipAddress: "::1", port: 5090)))
    }
}
