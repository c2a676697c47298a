import Foundation
import NIOCore
import NIOPosix
import SIPMessage
import Testing
import Verification
import VerificationServer
import VoiceGateway
import TestSupport

/// voice_call and dtmf_callout end to end: the core's start sends `originate` over the socket and
/// the gateway calls the number (through `outboundTarget`) and runs the dialogue.
@Suite("Outgoing call methods end to end", .serialized)
struct OutboundCallTests {
    private func media(_ range: ClosedRange<Int>) throws -> GatewayMedia {
        try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: range), firstDigitTimeout: .seconds(8))
    }

    @Test("voice_call: the phone answers and hears the code twice (recovered from RTP); typing it approves; ringing and answered are on the audit trail")
    func voiceCallIsHeard() async throws {
        let phone = try await Phone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let stack = try await MissedCallTests.Stack(media: try media(31_700...31_800), outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)")
        let answering = phone.answerNextCall()
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        #expect(started.code == nil, "a voice_call code is heard, never shown")
        let events = await answering.value
        #expect(events.last == .ended(.remoteHangUp), "the gateway hangs up after the code: \(events)")
        try await Phone.expectHeardCodeApproves(try phone.heardDigits(stack.gatewayPrompts()), service: stack.core.service, id: started.verification.id)
        let trail = try await stack.core.service.events(id: started.verification.id).compactMap(\.detail)
        #expect(trail.contains("call ringing"))
        #expect(trail.contains("call answered"))
        await phone.stop()
        await stack.stop()
    }

    @Test("voice_call: a phone that answers and never keys (a voicemail) hears \"press any key\", never the code; the call ends and the trail says no_key")
    func noKeyNoCode() async throws {
        let phone = try await Phone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 61_440...61_480), firstDigitTimeout: .seconds(8),
                                     keypressPrompts: 2, keypressWait: .milliseconds(800))
        let stack = try await MissedCallTests.Stack(media: media, outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)")
        let answering = phone.answerNextCall(keying: nil)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let events = await answering.value
        #expect(events.last == .ended(.remoteHangUp), "the gateway hangs up: \(events)")
        // The prompt was played (the phone got audio) and no digit prompt at all was in it.
        let prompts = try stack.gatewayPrompts().encoded(locale: "en", codec: .pcmu)
        let pressKey = try #require(prompts.frames[.pressAnyKey])
        #expect(phone.packetCount >= 2 * pressKey.count, "press any key, twice: \(phone.packetCount) packets")
        #expect(try phone.heardDigits(stack.gatewayPrompts()) == "", "no code digit was said")
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains { $0.hasPrefix("call ended: no_key") }
        })
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        await phone.stop()
        await stack.stop()
    }

    @Test("voice_call with --voice-call-keypress off: the code is said on answer, no key needed")
    func keypressOff() async throws {
        let phone = try await Phone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let stack = try await MissedCallTests.Stack(media: try media(61_490...61_530), outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)", voiceCallKeypress: false)
        let answering = phone.answerNextCall(keying: nil)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let events = await answering.value
        #expect(events.last == .ended(.remoteHangUp), "\(events)")
        try await Phone.expectHeardCodeApproves(try phone.heardDigits(stack.gatewayPrompts()), service: stack.core.service, id: started.verification.id)
        await phone.stop()
        await stack.stop()
    }

    @Test("voice_call with the range's first RTP port held by another program: the offer names the next one and the code is heard")
    func heldRTPPortIsSkipped() async throws {
        let range = 63_790...63_794
        let held = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: range.lowerBound).get()
        let phone = try await Phone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let stack = try await MissedCallTests.Stack(media: try media(range), outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)", voiceCallKeypress: false)
        let answering = phone.answerNextCall(keying: nil)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let events = await answering.value
        #expect(events.last == .ended(.remoteHangUp), "\(events)")
        try await Phone.expectHeardCodeApproves(try phone.heardDigits(stack.gatewayPrompts()), service: stack.core.service, id: started.verification.id)
        #expect(try await eventuallyTrue { stack.gatewayPortsInUse() == 0 })
        try await held.close()
        await phone.stop()
        await stack.stop()
    }

    @Test("voice_call retry: busy (486) the first time, a second call after the retry delay is answered and the code heard")
    func busyThenAnswered() async throws {
        let phone = try await Phone.start()
        let phonePort = await phone.endpoint.udpAddresses[0].port!
        let stack = try await MissedCallTests.Stack(media: try media(63_356...63_396), outboundTarget: "sip:{number}@127.0.0.1:\(phonePort)")
        let answering = phone.answerNextCall(rejecting: [486])
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let events = await answering.value
        #expect(events.last == .ended(.remoteHangUp), "\(events)")
        try await Phone.expectHeardCodeApproves(try phone.heardDigits(stack.gatewayPrompts()), service: stack.core.service, id: started.verification.id)
        let trail = try await stack.core.service.events(id: started.verification.id).compactMap(\.detail)
        let busy = try #require(trail.firstIndex(of: "call ended: busy (SIP 486)"), "\(trail)")
        let retry = try #require(trail.firstIndex(of: "call retry 2 of 2"), "\(trail)")
        let answered = try #require(trail.firstIndex(of: "call answered"), "\(trail)")
        #expect(busy < retry && retry < answered)
        await phone.stop()
        await stack.stop()
    }

    @Test("voice_call with SIPp (sipp/uas-voice.xml) answering: the gateway says the code and hangs up; ringing, answered and completed are on the trail")
    func sippAnswersVoiceCall() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let sippPort = try Peers.freePort()
        let stack = try await MissedCallTests.Stack(media: try media(63_406...63_446), outboundTarget: "sip:{number}@127.0.0.1:\(sippPort)")
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/uas-voice.xml").path, "-i", "127.0.0.1", "-p", "\(sippPort)", "-mp", "0",
             "-m", "1", "-nostdin", "-timeout", "60s"],
            name: "sipp-uas-voice"
        )
        // SIPp listens before the call goes out: the first start may find its port not yet bound,
        // which the retry policy would cover; wait for the socket instead.
        #expect(try await eventuallyTrue { Peers.udpPortIsBound(sippPort) })
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCall))
        let status = await sipp.exitStatus()
        #expect(status == 0, "\(sipp.tail())")
        await sipp.stop()
        #expect(try await eventuallyTrue {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains("call ended: completed")
        })
        let trail = try await stack.core.service.events(id: started.verification.id).compactMap(\.detail)
        #expect(trail.contains("call ringing") && trail.contains("call answered"), "\(trail)")
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending, "the code waits to be typed")
        await stack.stop()
    }

    @Test("dtmf_callout: SIPp answers and keys the code shown on the page; the verification is approved")
    func keyedCallOut() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let sippPort = try Peers.freePort()
        let stack = try await MissedCallTests.Stack(media: try media(31_850...31_950), outboundTarget: "sip:{number}@127.0.0.1:\(sippPort)")
        // The code is on the page before the call: start first, then let SIPp answer with it.
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallOut))
        _ = started
        let code = try #require(started.code)
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/uas-dtmf.xml").path, "-i", "127.0.0.1", "-p", "\(sippPort)", "-mp", "0",
             "-m", "1", "-nostdin", "-timeout", "40s", "-key", "code", code],
            name: "sipp-uas-dtmf"
        )
        let status = await sipp.exitStatus()
        #expect(status == 0, "\(sipp.tail())")
        #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).status == .approved })
        await sipp.stop()
        await stack.stop()
    }
}
