import NIOCore
import SIPMessage
import Testing
@testable import VoiceGateway

@Suite("TLS in URIs, Via and DNS names (RFC 5630, RFC 3263)")
struct SIPTLSURITests {
    @Test("transport=tls and sips: mean TLS (sips: with transport=tcp too); TLS's default port is 5061")
    func uriTransport() throws {
        func destination(_ text: String) throws -> SIPPeer? {
            SIPRouting.requestDestination(requestURI: try SIPAnyURI(parsing: text), routes: [])
        }
        #expect(try destination("sip:a@192.0.2.1;transport=tls") == SIPPeer(.tls, try SocketAddress(ipAddress: "192.0.2.1", port: 5061)))
        #expect(try destination("sips:a@192.0.2.1") == SIPPeer(.tls, try SocketAddress(ipAddress: "192.0.2.1", port: 5061)))
        #expect(try destination("sips:a@192.0.2.1:5071;transport=tcp") == SIPPeer(.tls, try SocketAddress(ipAddress: "192.0.2.1", port: 5071)))
        #expect(try destination("sip:a@192.0.2.1;transport=tcp")?.transport == .tcp)
        #expect(try destination("sip:a@192.0.2.1")?.transport == .udp)
        #expect(SIPTransportProtocol.tls.isReliable && SIPTransportProtocol.tcp.isReliable && !SIPTransportProtocol.udp.isReliable)
    }

    @Test("DNS: _sips._tcp SRV and the SIPS+D2T NAPTR service; a literal IP over TLS defaults to 5061")
    func dnsNames() async throws {
        #expect(SIPServerLocator.srvName(.tls, "example.net") == "_sips._tcp.example.net")
        #expect(SIPServerLocator.naptrService(.tls) == "SIPS+D2T")
        #expect(SIPServerLocator.defaultPort(.tls) == 5061 && SIPServerLocator.defaultPort(.udp) == 5060)
        let trunk = Trunk(name: "t", host: "192.0.2.5", transport: .tls)
        #expect(trunk.nextHop == SIPPeer(.tls, try SocketAddress(ipAddress: "192.0.2.5", port: 5061)))
    }

    @Test("peers are equal by transport and address; the TLS names annotate them")
    func peerEquality() throws {
        let address = try SocketAddress(ipAddress: "192.0.2.1", port: 5061)
        #expect(SIPPeer(.tls, address, serverName: "a.example") == SIPPeer(.tls, address, tlsIdentities: ["b.example"]))
        #expect(SIPPeer(.tls, address) != SIPPeer(.tcp, address))
    }
}
