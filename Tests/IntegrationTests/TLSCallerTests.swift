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

    @Test("ATTACK: a client certificate for another name is not the trusted peer: its P-Asserted-Identity is ignored; the edge's is believed")
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

        let edge = try await RawTLS.connect(port: port, pki: pki, certificate: try await pki.leaf("edge", sans: "DNS:edge.example.net"))
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
