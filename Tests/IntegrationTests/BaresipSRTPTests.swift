import Foundation
import Testing
import Verification
import VoiceGateway
import TestSupport

/// baresip with its `srtp` module and `mediaenc=srtp-mand` (SDES, RFC 4568) calling a gateway
/// whose peer requires SRTP: the call is only answered with SRTP (a plain offer gets 488), and
/// the code keyed through baresip's control socket arrives as SRTP that our libsrtp contexts
/// authenticate and decrypt. Over UDP, so the peer sets sdes_over_insecure_transport = yes.
@Suite("baresip calls in over SRTP and keys the code", .serialized)
struct BaresipSRTPTests {
    @Test("dtmf_callin: baresip (srtp-mand over UDP) dials, keys the code over SRTP, the verification is approved")
    func baresipKeysCodeOverSRTP() async throws {
        guard Peers.available("/usr/bin/baresip", package: "baresip") else { return }
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_696...62_736))
        var security = MediaSecurity()
        security.encryption = .sdes
        security.srtp = .required
        security.sdesOverInsecureTransport = true
        let stack = try await MissedCallTests.Stack(media: media) { configuration in
            configuration.peers = configuration.peers.map { peer in
                var peer = peer
                peer.mediaSecurity = security
                return peer
            }
        }
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)

        let phone = try await BaresipTests.Softphone(
            name: "baresip-srtp", extraConfig: "module\t\t\tsrtp.so\n", account: "<sip:0975000888@127.0.0.1>;regint=0;audio_codecs=PCMU;mediaenc=srtp-mand",
            dial: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"
        )
        #expect(try await eventuallyTrue { phone.established }, "baresip's SRTP call was not answered:\n\(phone.process.tail())")
        #expect(phone.control.send("sndcode", code) != nil)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved },
                "\(phone.process.tail())")
        #expect(try await phone.hungUp())
        await phone.quit()
        // The media really was SRTP, and baresip's packets authenticated.
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let statistics = try #require(stack.media?.statistics.snapshot)
        #expect(statistics.srtpSessions == 1 && statistics.closedSessions == 1, "\(statistics)")
        #expect(statistics.packetsReceived > 0 && statistics.srtpRejectedPackets == 0, "\(statistics)")
        await stack.stop()
    }
}
