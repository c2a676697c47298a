import Foundation
import Testing
import TestSupport
import Verification
import VoiceGateway

/// baresip over SIP over TLS (RFC 3261 §26, `transport=tls`): a real softphone's TLS stack (libre
/// over OpenSSL) verifies our certificate against the test CA (`sip_cafile`), dials dtmf_callin over
/// TLS and keys the code. Plain RTP here; SRTP is added on top separately.
@Suite("baresip over TLS", .serialized)
struct BaresipTLSTests {
    @Test("dtmf_callin over TLS: baresip verifies our certificate, dials over TLS, keys the code; the verification is approved")
    func baresipKeysCodeOverTLS() async throws {
        guard Peers.available("/usr/bin/baresip", package: "baresip") else { return }
        let pki = try await TestPKI.make()
        let (certificate, key) = try await pki.leaf("gateway", sans: "DNS:gw.example.net,IP:127.0.0.1")
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 37_500...37_560))
        let stack = try await MissedCallTests.Stack(media: media, tls: SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile))
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-baresip-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let control = BaresipTests.Control(port: try Peers.freeTCPPort())
        try BaresipTests.writeConfig(in: directory, sipListen: try Peers.freeBaresipPort(), control: control)
        // baresip checks our certificate against the test CA.
        let config = directory.appendingPathComponent("config")
        try (try String(contentsOf: config, encoding: .utf8) + "sip_cafile\t\t\(pki.caFile)\n").write(to: config, atomically: true, encoding: .utf8)
        try "<sip:0975000888@127.0.0.1;transport=tls>;regint=0;audio_codecs=PCMU\n".write(to: directory.appendingPathComponent("accounts"), atomically: true, encoding: .utf8)
        let tlsPort = await stack.sipTLSPort
        let baresip = try await PeerProcess(
            "/usr/bin/baresip", ["-f", directory.path, "-n", "127.0.0.1", "-t", "60", "-e", "/dial sip:+886229996666@127.0.0.1:\(tlsPort);transport=tls"],
            name: "baresip-tls"
        )
        #expect(try await eventuallyTrue { control.send("listcalls")?.contains("ESTABLISHED") == true }, "baresip's TLS call was not answered:\n\(baresip.tail())")
        // The call came over TLS: one TLS connection open, none over TCP.
        #expect(try await stack.endpoint.statistics().tcpConnections == 1)
        #expect(control.send("sndcode", code) != nil)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        let hungUp = try await eventually(.seconds(20)) { control.send("listcalls")?.contains("ESTABLISHED") == false }
        #expect(hungUp)
        _ = control.send("quit")
        await baresip.stop()
        await stack.stop()
    }
}
