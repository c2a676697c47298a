import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SIPStack
import Testing
import TestSupport
import Verification
import VerificationServer
import VoiceGateway

/// Mutual TLS (RFC 5922 §7.3, sip.conf `tls_client_identity`) against the real core + gateway on
/// loopback: only a connection whose client certificate names the peer makes its P-Asserted-Identity
/// believed; a certificate for another name, from the same address, is a stranger's.
@Suite("Caller ID over mutual TLS", .serialized)
struct TLSCallerTests {
    static let victim = "0975000888"
    static let attacker = "0975111222"

    private func stack(_ pki: TestPKI) async throws -> MissedCallTests.Stack {
        let (certificate, key) = try await pki.leaf("gateway", sans: "DNS:gw.example.net,IP:127.0.0.1")
        let tls = SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile)
        return try await MissedCallTests.Stack(ringTime: .milliseconds(200), timers: CallerProofTests.timers, trustFrom: false, tls: tls) { configuration in
            // Loopback is no longer trusted by address: only the edge proxy's certificate is.
            var edge = GatewayPeer(name: "edge", networks: [], trusted: true)
            edge.tlsClientIdentity = "edge.example.net"
            configuration.peers = [edge]
            configuration.trustedPeers = []
        }
    }

    /// An INVITE from the attacker's own number asserting the victim's (RFC 3325).
    private func invite(_ caller: RawTLS, callID: String) -> String {
        RawSIP.invite(callID: callID, via: "127.0.0.1:\(caller.port)", caller: Self.attacker, transport: "TLS",
                      extra: "P-Asserted-Identity: <sip:\(Self.victim)@127.0.0.1>")
    }

    @Test("ATTACK: a client certificate for another name, or for a user at the edge's domain, is not the trusted peer: its P-Asserted-Identity is ignored; the edge's (named by a SAN URI sip:domain, RFC 5922 §7.1) is believed")
    func otherIdentityNotTrusted() async throws {
        let pki = try await TestPKI.make()
        let stack = try await stack(pki)
        let started = try await stack.core.service.start(StartRequest(to: Self.victim, channel: .missedCall))
        let port = await stack.sipTLSPort

        let impostor = try await RawTLS.connect(port: port, pki: pki, certificate: try await pki.leaf("impostor", sans: "DNS:impostor.example.net"))
        try await impostor.send(invite(impostor, callID: "mtls-impostor"))
        // Untrusted: the caller is the From, unverified, with nothing pending: 404.
        #expect(try await eventuallyTrue { impostor.received.contains("SIP/2.0 404") })
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await impostor.close()

        // RFC 5922 §7.1: a SAN URI with a user part names a user, not the edge's domain.
        let user = try await RawTLS.connect(port: port, pki: pki, certificate: try await pki.leaf("edge-user", sans: "URI:sip:alice@edge.example.net"))
        try await user.send(invite(user, callID: "mtls-user"))
        #expect(try await eventuallyTrue { user.received.contains("SIP/2.0 404") })
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await user.close()

        // The edge, named by a SAN URI sip:edge.example.net only (no dNSName).
        let edge = try await RawTLS.connect(port: port, pki: pki, certificate: try await pki.leaf("edge", sans: "URI:sip:edge.example.net"))
        try await edge.send(invite(edge, callID: "mtls-edge"))
        // Trusted over TLS: the assertion is believed and the INVITE over a reliable transport approves.
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        await edge.close()
        await stack.stop()
    }
}

/// A TLS connection to the gateway's SIP-over-TLS port, trusting the test CA, keeping what it reads.
final class RawTLS: Sendable {
    let channel: NIOCore.Channel
    private let collector: Collector

    private init(channel: NIOCore.Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int, pki: TestPKI, certificate: (certificate: String, key: String)?) async throws -> RawTLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(pki.caFile)
        if let certificate {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate.certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: certificate.key, format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawTLS(channel: channel, collector: collector)
    }

    var port: Int { channel.localAddress!.port! }

    /// Everything read so far.
    var received: String { collector.text.withLockedValue { $0 } }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    func close() async { try? await channel.close() }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let text = NIOLockedValueBox("")
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            text.withLockedValue { $0 += String(buffer: buffer) }
        }
    }
}

/// RFC 5922 §7.2 with RFC 3263 §4.3 against the real core + gateway: a TLS trunk whose certificate
/// does not name it fails at the handshake as a transport error, and the route's next trunk gets the
/// call at once.
@Suite("TLS trunks end to end", .serialized)
struct TLSTrunkTests {
    @Test("voice_call over a route whose first trunk's certificate names another host: the call fails over to the second trunk at once",
          .timeLimit(.minutes(1)))
    func failoverOnCertificateMismatch() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let pki = try await TestPKI.make()
        let (certificate, key) = try await pki.leaf("gateway", sans: "DNS:gw.example.net,IP:127.0.0.1")
        let gatewayTLS = SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile)
        // The "trunk": a TLS endpoint whose certificate names other.example.net only, not 127.0.0.1.
        let wrong = try await pki.leaf("wrong", sans: "DNS:other.example.net")
        let impostor = try await SIPEndpoint.start(SIPEndpointConfiguration(
            udp: [], tcp: [], tls: [try SocketAddress(ipAddress: "127.0.0.1", port: 0)],
            tlsSettings: SIPTLSSettings(certificateFile: wrong.certificate, privateKeyFile: wrong.key, caFile: pki.caFile)))
        let impostorPort = await impostor.tlsAddresses[0].port!
        let upPort = try Peers.freePort()
        let conf = """
            [general]
            tls_bind = 127.0.0.1:0
            tls_certificate = \(certificate)
            tls_private_key = \(key)
            tls_ca_file = \(pki.caFile)
            route = +886 -> wrongcert, up
            [wrongcert]
            type = trunk
            host = 127.0.0.1:\(impostorPort)
            transport = tls
            [up]
            type = trunk
            host = 127.0.0.1:\(upPort)
            number_format = e164_no_plus

            """
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 63_066...63_126), firstDigitTimeout: .seconds(8))
        // T1 = 5 s puts Timer B at 320 s: the second trunk answers in time only if the refused
        // handshake ended the first attempt as a transport error (RFC 3261 §18.4).
        let timers = SIPTimers(t1: .seconds(5), t2: .seconds(5), t4: .seconds(5))
        let stack = try await MissedCallTests.Stack(media: media, timers: timers, tls: gatewayTLS, configure: try TrunkIntegrationTests.apply(conf))
        let up = try await TrunkIntegrationTests.answeringTrunk(port: upPort, name: "sipp-trunk-up-tls")
        var impostorCalls = impostor.incomingCalls.makeAsyncIterator()
        _ = try await TrunkIntegrationTests.voiceCallAnswered(stack, by: up)
        // The impostor never saw an INVITE: the handshake failed before any SIP was sent.
        await impostor.shutdown()
        #expect(await impostorCalls.next() == nil)
        await stack.stop()
    }
}
