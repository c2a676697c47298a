import Foundation
import Testing
import TestSupport
import Verification
import VoiceGateway

/// Whole encrypted calls with real softphones (README "Encrypted calls"): SIP over TLS (RFC 3261
/// §26) with SRTP keyed by SDES (RFC 4568) over it, the peer requiring SRTP and NOT allowing keys over
/// insecure signalling — and tshark on loopback showing what an eavesdropper gets: no SIP in clear,
/// no RTP payload that is G.711 speech.
@Suite("Encrypted calls: TLS + SRTP with real peers, seen by tshark", .serialized)
struct EncryptedCallTests {
    /// SRTP required for every peer; keys only over TLS (no `sdes_over_insecure_transport`).
    static func requireSRTP(_ configuration: inout GatewayConfiguration) {
        var security = MediaSecurity()
        security.encryption = .sdes
        security.srtp = .required
        configuration.mediaSecurity = security
        configuration.peers = configuration.peers.map { peer in
            var peer = peer
            peer.mediaSecurity = security
            return peer
        }
    }

    @Test("the negative control: the prompts in clear G.711 fail the ciphertext check that SRTP payloads must pass")
    func speechIsNotCiphertext() throws {
        let speech = try (0...9).flatMap { try PacketCapture.speechPayloads(prompts: AnsweredCallTests.prompts, digit: $0) }
        #expect(PacketCapture.chiSquare(speech) > PacketCapture.cipherLimit * 10)
        var generator = SystemRandomNumberGenerator()
        let random = (0..<200).map { _ in (0..<160).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        #expect(PacketCapture.chiSquare(random) < PacketCapture.cipherLimit)
    }

    @Test("dtmf_callin: baresip over TLS with SRTP mandatory keys the code; tshark sees TLS and SRTP only")
    func baresipTLSAndSRTP() async throws {
        guard Peers.available("/usr/bin/baresip", package: "baresip"), Peers.available(PacketCapture.tshark, package: "tshark") else { return }
        let pki = try await TestPKI.make()
        let (certificate, key) = try await pki.leaf("gateway", sans: "DNS:gw.example.net,IP:127.0.0.1")
        // Above Linux's ephemeral range (32,768–60,999), where no other test's port-0 socket lands,
        // and outside Peers.freePort's band, where the stack's own SIP ports come from: nothing
        // else is in what the capture filter lets through.
        let ports = 63_700...63_760
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: ports))
        let stack = try await MissedCallTests.Stack(media: media, tls: SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile),
                                                    configure: Self.requireSRTP)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let tlsPort = await stack.sipTLSPort
        let capture = try await PacketCapture(filter: "tcp port \(tlsPort) or udp portrange \(ports.lowerBound)-\(ports.upperBound + 1)")
        defer { capture.remove() }

        let phone = try await BaresipTests.Softphone(
            name: "baresip-tls-srtp", sipListen: try Peers.freeBaresipPort(), extraConfig: "sip_cafile\t\t\(pki.caFile)\nmodule\t\t\tsrtp.so\n",
            account: "<sip:0975000888@127.0.0.1;transport=tls>;regint=0;audio_codecs=PCMU;mediaenc=srtp-mand", dial: "sip:+886229996666@127.0.0.1:\(tlsPort);transport=tls"
        )
        #expect(try await eventuallyTrue { phone.established }, "baresip's call was not answered:\n\(phone.process.tail())")
        #expect(phone.control.send("sndcode", code) != nil)
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved }, "\(phone.process.tail())")
        #expect(try await phone.hungUp())
        await phone.quit()
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let statistics = try #require(stack.media?.statistics.snapshot)
        #expect(statistics.srtpSessions == 1 && statistics.packetsReceived > 0 && statistics.srtpRejectedPackets == 0, "\(statistics)")
        #expect(statistics.packetsSent > 50, "the gateway played its prompt: \(statistics)")
        await stack.stop()

        // What an eavesdropper on loopback saw.
        let wire = await capture.stop()
        // Decoded as TLS by port, not left to whichever dissector a port number happens to be registered to.
        let handshakes = try await capture.read(["-d", "tcp.port==\(tlsPort),tls", "-Y", "tls.handshake.type == 1", "-T", "fields", "-e", "tcp.dstport"])
        #expect(handshakes.contains("\(tlsPort)"), "the signalling was captured, as TLS: \(handshakes)")
        for clear in ["SIP/2.0", "INVITE sip:", "a=crypto", "inline:"] {
            #expect(!PacketCapture.contains(wire, clear), "'\(clear)' in clear on the wire")
        }
        let fromGateway = try await capture.rtpPayloads(from: ports)
        #expect(fromGateway.count > 50, "the gateway's RTP was captured: \(fromGateway.count) packets")
        let chi = PacketCapture.chiSquare(fromGateway.filter { $0.count >= 160 })
        #expect(chi < PacketCapture.cipherLimit, "the gateway's payloads look like G.711, not ciphertext: chi-square \(chi)")
    }

    @Test("voice_callin: pjsua2 over TLS (verifying our certificate) with SRTP mandatory hears the code twice; typing it approves")
    func pjsuaTLSAndSRTP() async throws {
        guard Peers.available(PjsuaTests.python, package: "python3-venv (then scripts/python-venv.sh)") else { return }
        let pki = try await TestPKI.make()
        let (certificate, key) = try await pki.leaf("gateway", sans: "DNS:gw.example.net,IP:127.0.0.1")
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_816...62_916))
        let stack = try await MissedCallTests.Stack(media: media, tls: SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile),
                                                    configure: Self.requireSRTP)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let wav = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-pjsua-tls-\(UUID().uuidString.prefix(8)).wav").path
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let pjsua = try await PeerProcess(
            PjsuaTests.python, [PjsuaTests.phone, "call", "--caller", "0975000888", "--uri", "sip:+886229996666@127.0.0.1:\(await stack.sipTLSPort);transport=tls",
                                "--tls-ca", pki.caFile, "--srtp", "--wav", wav, "--recognize", PjsuaTests.digits],
            name: "pjsua-tls-srtp"
        )
        #expect(await pjsua.exitStatus() == 0, "\(pjsua.tail())")
        let digits = try #require(pjsua.tail(200).split(separator: "\n").last { $0.hasPrefix("heard: ") }.map { String($0.dropFirst(7)) }, "\(pjsua.tail())")
        try await Phone.expectHeardCodeApproves(digits, service: stack.core.service, id: started.verification.id)
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let statistics = try #require(stack.media?.statistics.snapshot)
        #expect(statistics.srtpSessions == 1 && statistics.srtpRejectedPackets == 0, "\(statistics)")
        await pjsua.stop()
        await stack.stop()
    }

    @Test("voice_call: the gateway calls baresip over TLS (verifying its certificate) with SRTP; baresip answers and the code it heard approves")
    func voiceCallToBaresipOverTLSAndSRTP() async throws {
        guard Peers.available("/usr/bin/baresip", package: "baresip"), Peers.available(PjsuaTests.python, package: "python3-venv (then scripts/python-venv.sh)") else { return }
        let pki = try await TestPKI.make()
        let (certificate, key) = try await pki.leaf("gateway", sans: "DNS:gw.example.net,IP:127.0.0.1")
        let (phoneCertificate, phoneKey) = try await pki.leaf("phone", sans: "IP:127.0.0.1")
        let sipPort = try Peers.freeBaresipPort()  // UDP/TCP on it, TLS on the next
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_926...62_986))
        let stack = try await MissedCallTests.Stack(media: media, outboundTarget: "sip:{number}@127.0.0.1:\(sipPort + 1);transport=tls", voiceCallKeypress: false,
                                                    tls: SIPTLSSettings(certificateFile: certificate, privateKeyFile: key, caFile: pki.caFile), configure: Self.requireSRTP)
        let files = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-baresip-vc-tls-\(UUID().uuidString.prefix(8))")
        let recordings = files.appendingPathComponent("heard")
        try FileManager.default.createDirectory(at: recordings, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: files) }
        // baresip's TLS listener presents phone.pem (certificate and key in one file); sndfile writes
        // what it decodes from our SRTP to a WAV.
        let identity = files.appendingPathComponent("phone.pem").path
        try (String(contentsOfFile: phoneCertificate, encoding: .utf8) + String(contentsOfFile: phoneKey, encoding: .utf8)).write(toFile: identity, atomically: true, encoding: .utf8)
        let phone = try await BaresipTests.Softphone(
            name: "baresip-vc-tls", sipListen: sipPort,
            extraConfig: "sip_certificate\t\t\(identity)\nsip_cafile\t\t\(pki.caFile)\nmodule\t\t\tsrtp.so\nmodule\t\t\tsndfile.so\nsnd_path\t\t\(recordings.path)\n",
            account: "<sip:+886975000888@127.0.0.1;transport=tls>;regint=0;audio_codecs=PCMU;answermode=auto;mediaenc=srtp-mand"
        )
        #expect(try await eventuallyTrue { phone.control.send("listcalls") != nil }, "baresip's control socket:\n\(phone.process.tail())")

        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(try await eventuallyTrue { phone.established }, "baresip did not answer:\n\(phone.process.tail())")
        #expect(try await phone.hungUp(within: .seconds(40)), "the gateway said the code and hung up")
        let tail = phone.process.tail()
        await phone.quit()
        let statistics = try #require(stack.media?.statistics.snapshot)
        #expect(statistics.srtpSessions == 1 && statistics.srtpRejectedPackets == 0, "\(statistics)")
        // What baresip decoded from our SRTP, searched for our digit prompts.
        let heard = try #require(try FileManager.default.contentsOfDirectory(atPath: recordings.path).first { $0.hasSuffix("-dec.wav") },
                                 "sndfile wrote no recording: \(tail)")
        let recognizer = try await PeerProcess(PjsuaTests.python, [
            "-c", "import sys; sys.path.insert(0, sys.argv[1]); from phone import recognize; print('heard: ' + recognize(sys.argv[2], sys.argv[3]))",
            Peers.repository.appendingPathComponent("tests/pjsua").path, recordings.appendingPathComponent(heard).path, PjsuaTests.digits,
        ], name: "recognize")
        #expect(await recognizer.exitStatus() == 0, "\(recognizer.tail())")
        let digits = try #require(recognizer.tail().split(separator: "\n").last { $0.hasPrefix("heard: ") }.map { String($0.dropFirst(7)) }, "\(recognizer.tail())")
        try await Phone.expectHeardCodeApproves(digits, service: stack.core.service, id: started.verification.id)
        await recognizer.stop()
        await stack.stop()
    }
}
