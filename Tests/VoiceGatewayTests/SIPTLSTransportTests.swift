import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SIPMessage
import SIPStack
import SystemPackage
import Testing
import TestSupport
@testable import VoiceGateway

extension TestPKI {
    /// Settings with a leaf for `sans`, trusting this CA.
    func settings(_ file: String = "gateway", sans: String = "DNS:gw.example.net,IP:127.0.0.1", requireClientCertificate: Bool = false,
                  handshakeTimeout: Duration = .seconds(10)) async throws -> SIPTLSSettings {
        let (certificate, key) = try await leaf(file, sans: sans)
        return SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: caFile, requireClientCertificate: requireClientCertificate,
                              handshakeTimeout: handshakeTimeout)
    }
}

/// A connection to the endpoint (TLS or plain), collecting what comes back until it is closed.
final class StreamProbe: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private var received = ByteBuffer()
    /// Completed with everything received when the connection closes.
    let closed: EventLoopPromise<String>
    /// Completed when the TLS handshake completes; failed when the connection ends before.
    let handshake: EventLoopPromise<Void>
    private var waiting: (marker: String, count: Int, promise: EventLoopPromise<String>)?

    init(eventLoop: EventLoop) {
        closed = eventLoop.makePromise()
        handshake = eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
        check()
    }

    private func check() {
        guard let waiting else { return }
        let text = String(buffer: received)
        if text.components(separatedBy: waiting.marker).count - 1 >= waiting.count {
            self.waiting = nil
            waiting.promise.succeed(text)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { handshake.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        handshake.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed.succeed(String(buffer: received))
        handshake.fail(ChannelError.eof)
        waiting?.promise.fail(ChannelError.eof)
        waiting = nil
    }

    /// Everything received once `marker` has arrived `count` times.
    func await(_ marker: String, count: Int = 1, on channel: Channel) async throws -> String {
        let promise = channel.eventLoop.makePromise(of: String.self)
        try await channel.eventLoop.submit {
            self.waiting = (marker, count, promise)
            self.check()
        }.get()
        return try await promise.futureResult.get()
    }

    /// Connects to `address`; over TLS with `tls` (trusting the test CA, verifying the server's
    /// IP address SAN).
    static func connect(to address: SocketAddress, tls: TLSConfiguration? = nil) async throws -> (Channel, StreamProbe) {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let probe = StreamProbe(eventLoop: eventLoop)
        let context = try tls.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ClientBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil)) }
                    try channel.pipeline.syncOperations.addHandler(probe)
                }
            }
            .connect(to: address).get()
        return (channel, probe)
    }
}

/// A client configuration trusting `pki`'s CA, optionally with a client certificate.
func clientTLS(_ pki: TestPKI, certificate: (certificate: String, key: String)? = nil, maximumVersion: TLSVersion? = nil) throws -> TLSConfiguration {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.trustRoots = .file(pki.caFile)
    configuration.certificateVerification = .fullVerification
    if let maximumVersion {
        configuration.minimumTLSVersion = .tlsv1
        configuration.maximumTLSVersion = maximumVersion
    }
    if let certificate {
        configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate.certificate).map { .certificate($0) }
        configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: certificate.key, format: .pem))
    }
    return configuration
}

/// An OPTIONS or INVITE sent over TLS (Via transport TLS, RFC 3261 §26.2 / §18.2.1).
func tlsRequest(_ method: String, callID: String, branch: String, body: String = "") -> String {
    var text = "\(method) sip:gw@127.0.0.1;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK\(branch)\r\nMax-Forwards: 70\r\n"
    text += "From: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:gw@127.0.0.1>\r\nCall-ID: \(callID)\r\nCSeq: 1 \(method)\r\n"
    text += "Contact: <sip:p@127.0.0.1:5999;transport=tls>\r\n"
    if !body.isEmpty { text += "Content-Type: application/sdp\r\n" }
    text += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    return text
}

/// An endpoint with a TLS listener (and TCP, UDP) on loopback with `settings`.
func startTLSEndpoint(_ settings: SIPTLSSettings, _ tweak: (inout SIPEndpointConfiguration) -> Void = { _ in }) async throws -> SIPEndpoint {
    try await startEndpoint {
        $0.tls = [loopbackAny]
        $0.tlsSettings = settings
        tweak(&$0)
    }
}

@Suite("SIP over TLS (RFC 3261 §26, RFC 5630, RFC 5922)")
struct SIPTLSTransportTests {
    @Test("OPTIONS and INVITE over TLS are answered over the same connection, Via TLS")
    func optionsAndInvite() async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings())
        let (channel, probe) = try await StreamProbe.connect(to: await endpoint.tlsAddresses[0], tls: try clientTLS(pki))
        try await probe.handshake.futureResult.get()
        try await channel.writeAndFlush(ByteBuffer(string: tlsRequest("OPTIONS", callID: "tls-o", branch: "tlso")))
        let options = try await probe.await("SIP/2.0 200 OK", on: channel)
        #expect(options.contains("Call-ID: tls-o"))
        #expect(options.contains("Via: SIP/2.0/TLS 127.0.0.1:5999"))

        var calls = endpoint.incomingCalls.makeAsyncIterator()
        try await channel.writeAndFlush(ByteBuffer(string: tlsRequest("INVITE", callID: "tls-i", branch: "tlsi", body: String(buffer: testSDP))))
        let call = try #require(await calls.next())
        #expect(call.remote.transport == .tls)
        #expect(call.remote.tlsIdentities.isEmpty)
        call.answer(sdp: testSDP)
        let answer = try await probe.await("SIP/2.0 200 OK", count: 2, on: channel)
        #expect(answer.contains("Call-ID: tls-i"))
        // Our Contact over TLS says so (RFC 5630 §3.1.3: transport=tls, not sips:).
        #expect(answer.contains(";transport=tls>"))
        #expect(try await endpoint.statistics().tcpConnections == 1)
        try await channel.close()
        await endpoint.shutdown()
    }

    @Test("ATTACK: plain SIP over TCP to the TLS port gets no SIP answer; the connection is closed")
    func plainTCPToTLSPort() async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings())
        let (channel, probe) = try await StreamProbe.connect(to: await endpoint.tlsAddresses[0])
        try await channel.writeAndFlush(ByteBuffer(string: tlsRequest("OPTIONS", callID: "plain", branch: "plain")))
        let reply = try await probe.closed.futureResult.get()
        #expect(!reply.contains("SIP/2.0"))
        #expect(try await eventually { try await endpoint.statistics().tcpConnections == 0 })
        await endpoint.shutdown()
    }

    @Test("ATTACK: a client that offers only TLS 1.1 is refused at the handshake")
    func tls11Refused() async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings())
        let address = await endpoint.tlsAddresses[0]
        // Control: the same client allowed TLS 1.2 gets through.
        let (good, goodProbe) = try await StreamProbe.connect(to: address, tls: try clientTLS(pki, maximumVersion: .tlsv12))
        try await goodProbe.handshake.futureResult.get()
        try await good.close()
        let (_, probe) = try await StreamProbe.connect(to: address, tls: try clientTLS(pki, maximumVersion: .tlsv11))
        await #expect(throws: (any Error).self) { try await probe.handshake.futureResult.get() }
        _ = try await probe.closed.futureResult.get()
        await endpoint.shutdown()
    }

    @Test("ATTACK: a connection that never starts its handshake is closed after the handshake timeout")
    func stalledHandshake() async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings(handshakeTimeout: .milliseconds(300))) { $0.tcpIdleTimeout = .seconds(60) }
        let started = ContinuousClock.now
        let (_, probe) = try await StreamProbe.connect(to: await endpoint.tlsAddresses[0])
        #expect(try await probe.closed.futureResult.get() == "")
        // Closed by the handshake timer, long before the idle timeout.
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(ContinuousClock.now - started >= .milliseconds(250))
        #expect(try await eventually { try await endpoint.statistics().tcpConnections == 0 })
        await endpoint.shutdown()
    }

    @Test("ATTACK: connections from one IP beyond the per-IP cap are refused; the others stay", arguments: [SIPTransportProtocol.tcp, .tls])
    func perIPCap(transport: SIPTransportProtocol) async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings()) { $0.maxConnectionsPerIP = 3 }
        let address = transport == .tls ? await endpoint.tlsAddresses[0] : await endpoint.tcpAddresses[0]
        var open: [Channel] = []
        for _ in 0..<3 { open.append(try await StreamProbe.connect(to: address).0) }
        #expect(try await eventually { try await endpoint.statistics().tcpConnections == 3 })
        let (_, refused) = try await StreamProbe.connect(to: address)
        #expect(try await refused.closed.futureResult.get() == "")
        #expect(try await endpoint.statistics().tcpConnections == 3)
        for channel in open { #expect(channel.isActive) }
        for channel in open { try await channel.close() }
        await endpoint.shutdown()
    }

    @Test("a CRLFCRLF keep-alive ping gets a single CRLF pong (RFC 5626 §4.4.1)", arguments: [SIPTransportProtocol.tcp, .tls])
    func keepAlive(transport: SIPTransportProtocol) async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings())
        let (channel, probe) = transport == .tls
            ? try await StreamProbe.connect(to: await endpoint.tlsAddresses[0], tls: try clientTLS(pki))
            : try await StreamProbe.connect(to: await endpoint.tcpAddresses[0])
        try await channel.writeAndFlush(ByteBuffer(string: "\r\n\r\n"))
        #expect(try await probe.await("\r\n", on: channel) == "\r\n")
        // Then a request on the same connection is still framed and answered.
        try await channel.writeAndFlush(ByteBuffer(string: "\r\n\r\n" + tlsRequest("OPTIONS", callID: "ka", branch: "ka")))
        let reply = try await probe.await("SIP/2.0 200 OK", on: channel)
        #expect(reply.hasPrefix("\r\n\r\nSIP/2.0 200 OK"))
        try await channel.close()
        await endpoint.shutdown()
    }

    @Test("a verified client certificate names the connection's identity; none or another CA's does not (RFC 5922 §7.3)")
    func clientIdentity() async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings())
        let address = await endpoint.tlsAddresses[0]
        var calls = endpoint.incomingCalls.makeAsyncIterator()
        let edge = try await pki.leaf("edge", sans: "DNS:edge.example.net")
        let (channel, probe) = try await StreamProbe.connect(to: address, tls: try clientTLS(pki, certificate: edge))
        try await probe.handshake.futureResult.get()
        try await channel.writeAndFlush(ByteBuffer(string: tlsRequest("INVITE", callID: "mtls", branch: "mtls", body: String(buffer: testSDP))))
        let call = try #require(await calls.next())
        #expect(call.remote.tlsIdentities == ["edge.example.net"])
        call.reject(statusCode: 486)
        try await channel.close()

        // ATTACK: the same name from a CA we do not trust is refused at the handshake.
        let rogue = try await TestPKI.make(name: "Rogue CA")
        let forged = try await rogue.leaf("edge", sans: "DNS:edge.example.net")
        let (_, forgedProbe) = try await StreamProbe.connect(to: address, tls: try clientTLS(pki, certificate: forged))
        // The client may finish first (TLS 1.3); then the server's alert closes the connection.
        _ = try await forgedProbe.closed.futureResult.get()
        await endpoint.shutdown()
    }

    @Test("ATTACK: with tls_require_client_certificate a client without a certificate is refused")
    func clientCertificateRequired() async throws {
        let pki = try await TestPKI.make()
        let endpoint = try await startTLSEndpoint(try await pki.settings(requireClientCertificate: true))
        let address = await endpoint.tlsAddresses[0]
        let (bare, bareProbe) = try await StreamProbe.connect(to: address, tls: try clientTLS(pki))
        // TLS 1.3: the client's handshake may complete before the server refuses; a request is never answered.
        try? await bare.writeAndFlush(ByteBuffer(string: tlsRequest("OPTIONS", callID: "nocert", branch: "nocert")))
        #expect(!(try await bareProbe.closed.futureResult.get()).contains("SIP/2.0"))
        // Control: with a certificate the same request is answered.
        let (channel, probe) = try await StreamProbe.connect(to: address, tls: try clientTLS(pki, certificate: try await pki.leaf("edge", sans: "DNS:edge.example.net")))
        try await channel.writeAndFlush(ByteBuffer(string: tlsRequest("OPTIONS", callID: "cert", branch: "cert")))
        #expect(try await probe.await("SIP/2.0 200 OK", on: channel).contains("Call-ID: cert"))
        try await channel.close()
        await endpoint.shutdown()
    }

    @Test("ATTACK: an outgoing TLS call to a server whose certificate names another host fails with a transport error (RFC 5922 §7.2)")
    func serverNameMismatch() async throws {
        let pki = try await TestPKI.make()
        let trunk = try await startTLSEndpoint(try await pki.settings("trunk", sans: "DNS:trunk.example.net"))
        let gateway = try await startTLSEndpoint(try await pki.settings())
        let trunkAddress = await trunk.tlsAddresses[0]
        let uri = try SIPAnyURI(parsing: "sip:+15551234567@trunk.example.net;transport=tls")
        let from = SIPNameAddress(uri: try SIPAnyURI(parsing: "sip:verigate@127.0.0.1"))

        // Control: the right name reaches the trunk.
        var trunkCalls = trunk.incomingCalls.makeAsyncIterator()
        let good = try await gateway.call(uri, from: from, sdp: testSDP, destination: SIPPeer(.tls, trunkAddress, serverName: "trunk.example.net"))
        let arrived = try #require(await trunkCalls.next())
        #expect(try arrived.request.headers.topVia().transport == "TLS")
        arrived.reject(statusCode: 486)
        let goodEvents = await collect(good)
        #expect(goodEvents.last == .ended(.failed(statusCode: 486, reason: "Busy Here")), "\(goodEvents)")

        // The trunk's certificate does not name other.example.net: the INVITE never leaves.
        let bad = try await gateway.call(uri, from: from, sdp: testSDP, destination: SIPPeer(.tls, trunkAddress, serverName: "other.example.net"))
        #expect(await collect(bad).last == .ended(.transportError))
        await gateway.shutdown()
        await trunk.shutdown()
    }
}

extension SIPTLSTransportTests {
    @Test("ATTACK: an outgoing TLS call to a server that accepts TCP but never answers the handshake fails at the handshake timeout")
    func dialledStalledHandshake() async throws {
        let pki = try await TestPKI.make()
        // A TCP listener that accepts and stays silent.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(to: loopbackAny).get()
        // RFC 3261 timers: Timer B would take 32 s and end the call as a timeout.
        let gateway = try await startTLSEndpoint(try await pki.settings(handshakeTimeout: .milliseconds(300))) { $0.timers = .rfc3261 }
        let uri = try SIPAnyURI(parsing: "sip:+15551234567@127.0.0.1;transport=tls")
        let from = SIPNameAddress(uri: try SIPAnyURI(parsing: "sip:verigate@127.0.0.1"))
        let started = ContinuousClock.now
        let call = try await gateway.call(uri, from: from, sdp: testSDP, destination: SIPPeer(.tls, silent.localAddress!))
        // The handshake timeout ends it as a transport error, long before Timer B.
        #expect(await collect(call).last == .ended(.transportError))
        #expect(ContinuousClock.now - started < .seconds(10))
        await gateway.shutdown()
        try await silent.close()
    }
}
