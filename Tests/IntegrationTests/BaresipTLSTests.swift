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
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_996...63_056))
        let stack = try await MissedCallTests.Stack(media: media, tls: SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile))
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)

        let tlsPort = await stack.sipTLSPort
        // baresip checks our certificate against the test CA.
        let phone = try await BaresipTests.Softphone(
            name: "baresip-tls", sipListen: try Peers.freeBaresipPort(), extraConfig: "sip_cafile\t\t\(pki.caFile)\n",
            account: "<sip:0975000888@127.0.0.1;transport=tls>;regint=0;audio_codecs=PCMU", dial: "sip:+886229996666@127.0.0.1:\(tlsPort);transport=tls"
        )
        #expect(try await eventuallyTrue { phone.established }, "baresip's TLS call was not answered:\n\(phone.process.tail())")
        // The call came over TLS: one TLS connection open, none over TCP.
        #expect(try await stack.endpoint.statistics().tcpConnections == 1)
        #expect(phone.control.send("sndcode", code) != nil)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        #expect(try await phone.hungUp())
        await phone.quit()
        await stack.stop()
    }
}
