import Foundation
import NIOCore
import Testing
import TestSupport
@testable import VoiceGateway

@Suite("sip.conf: SIP over TLS keys and mutual-TLS peers")
struct SIPConfTLSTests {
    /// The error `text` gives.
    func failure(_ text: String, file: String = "t.conf") -> SIPConfError? {
        do {
            _ = try SIPConf.parse(text, file: file)
            return nil
        } catch {
            return error
        }
    }

    @Test("a TLS listener: port 5061 by default, certificate, key, CA, client certificates, timeout, per-IP cap reach the endpoint")
    func goodTLS() async throws {
        let pki = try await TestPKI.make()
        let (certificate, key) = try await pki.leaf("gw", sans: "DNS:gw.example.net")
        let text = """
            [general]
            tls_bind = 127.0.0.1, 127.0.0.1:15061
            tls_certificate = \(certificate)
            tls_private_key = \(key)
            tls_ca_file = \(pki.caFile)
            tls_require_client_certificate = yes
            tls_handshake_timeout = 2s
            max_connections_per_ip = 9
            [edge]
            type = peer
            tls_client_identity = Edge.Example.NET
            trusted = yes
            [carrier]
            type = trunk
            host = carrier.example.net
            transport = tls
            """
        let conf = try SIPConf.parse(text)
        #expect(conf.tlsBind.map(\.port) == [5061, 15061])
        #expect(conf.tls == SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile, requireClientCertificate: true,
                                           handshakeTimeout: .seconds(2)))
        let endpoint = conf.endpointConfiguration
        #expect(endpoint.tls == conf.tlsBind)
        #expect(endpoint.tlsSettings == conf.tls)
        #expect(endpoint.maxConnectionsPerIP == 9)
        #expect(conf.peers.first { $0.name == "edge" }?.tlsClientIdentity == "edge.example.net")
        let trunk = try #require(conf.trunks.first)
        #expect(trunk.requestURI(calling: "+15551234567")?.description == "sip:+15551234567@carrier.example.net;transport=tls")
    }

    @Test("bad TLS files and settings are refused with file:line and the reason")
    func badTLS() async throws {
        let pki = try await TestPKI.make()
        let (certificate, key) = try await pki.leaf("gw", sans: "DNS:gw.example.net")
        let garbage = pki.directory + "/garbage.pem"
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let cases: [(String, Int, String)] = [
            ("[general]\ntls_bind = 127.0.0.1\ntls_certificate = \(garbage)\ntls_private_key = \(key)\n", 3, "tls_certificate '\(garbage)'"),
            ("[general]\ntls_bind = 127.0.0.1\ntls_certificate = \(certificate)\ntls_private_key = \(pki.directory)/none.key\n", 4, "tls_private_key '\(pki.directory)/none.key'"),
            ("[general]\ntls_bind = 127.0.0.1\ntls_certificate = \(certificate)\ntls_private_key = \(key)\ntls_ca_file = \(garbage)\n", 5, "tls_ca_file '\(garbage)'"),
            // A key that is not the certificate's.
            ("[general]\ntls_bind = 127.0.0.1\ntls_certificate = \(certificate)\ntls_private_key = \(pki.directory)/ca.key\n", 3, "do not make a TLS context"),
            ("[general]\ntls_bind = 127.0.0.1\n", 2, "tls_bind needs tls_certificate and tls_private_key"),
            ("[general]\ntls_certificate = \(certificate)\ntls_private_key = \(key)\n", 2, "TLS settings without a listener"),
            ("[general]\ntls_bind = 127.0.0.1:x\n", 2, "the port is not a number"),
            ("[general]\ntls_handshake_timeout = 10\n", 2, "tls_handshake_timeout"),
            ("[general]\nmax_connections_per_ip = 0\n", 2, "max_connections_per_ip must be a whole number"),
            ("[t]\ntype = trunk\nhost = 192.0.2.1\ntransport = tls\n", 4, "transport = tls needs a TLS listener"),
            ("[p]\ntype = peer\ntls_client_identity = edge.example.net\n", 3, "tls_client_identity needs a TLS listener"),
        ]
        for (text, line, message) in cases {
            let error = try #require(failure(text), "\(text)")
            #expect(error.line == line, "\(text): \(error)")
            #expect(error.message.contains(message), "\(text): \(error)")
            #expect(error.description.hasPrefix("t.conf:\(line): "))
        }
    }

    @Test("relative certificate paths are read from the folder of sip.conf")
    func relativePaths() async throws {
        let pki = try await TestPKI.make()
        _ = try await pki.leaf("gw", sans: "DNS:gw.example.net")
        let conf = try SIPConf.parse("[general]\ntls_bind = 127.0.0.1\ntls_certificate = gw.pem\ntls_private_key = gw.key\n", file: pki.directory + "/sip.conf")
        #expect(conf.tls?.certificateFile == pki.directory + "/gw.pem")
    }

    @Test("a mutual-TLS peer is matched only by its verified client certificate over TLS, never by address alone")
    func mutualTLSPeer() throws {
        var edge = GatewayPeer(name: "edge", networks: [], trusted: true)
        edge.tlsClientIdentity = "edge.example.net"
        let configuration = GatewayConfiguration(trustedPeers: [], peers: [edge])
        let address = try SocketAddress(ipAddress: "192.0.2.7", port: 5061)
        #expect(configuration.callerPolicy(for: SIPPeer(.tls, address, tlsIdentities: ["edge.example.net"])).trusted)
        // ATTACK: another certificate, none, or the same address over another transport.
        #expect(!configuration.callerPolicy(for: SIPPeer(.tls, address, tlsIdentities: ["other.example.net"])).trusted)
        #expect(!configuration.callerPolicy(for: SIPPeer(.tls, address)).trusted)
        #expect(!configuration.callerPolicy(for: SIPPeer(.udp, address, tlsIdentities: ["edge.example.net"])).trusted)
        #expect(!configuration.callerPolicy(for: address).trusted)
        // Its media settings follow the same match: SRTP required and latching for the edge only.
        var secured = edge
        secured.mediaSecurity.encryption = .sdes
        secured.mediaSecurity.srtp = .required
        secured.mediaLatching = .signallingSource
        let media = GatewayConfiguration(trustedPeers: [], peers: [secured])
        #expect(media.mediaSecurity(for: SIPPeer(.tls, address, tlsIdentities: ["edge.example.net"])).policy == .required)
        #expect(media.mediaLatching(for: SIPPeer(.tls, address, tlsIdentities: ["edge.example.net"])) == .signallingSource)
        #expect(media.mediaSecurity(for: SIPPeer(.tls, address, tlsIdentities: ["other.example.net"])).policy == .off)
        #expect(media.mediaLatching(for: SIPPeer(.udp, address)) == .off)
        // With host as well: the certificate from elsewhere is not enough.
        edge.networks = [try #require(IPNetwork("192.0.2.0/24"))]
        let pinned = GatewayConfiguration(trustedPeers: [], peers: [edge])
        #expect(pinned.callerPolicy(for: SIPPeer(.tls, address, tlsIdentities: ["edge.example.net"])).trusted)
        let elsewhere = try SocketAddress(ipAddress: "198.51.100.1", port: 5061)
        #expect(!pinned.callerPolicy(for: SIPPeer(.tls, elsewhere, tlsIdentities: ["edge.example.net"])).trusted)
    }
}
