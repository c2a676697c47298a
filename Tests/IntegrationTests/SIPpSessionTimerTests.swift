import Foundation
import NIOCore
import SIPMessage
import SIPStack
import Testing
import Verification
import VoiceGateway
import TestSupport

/// OPTIONS (RFC 3261 §11.2) and RFC 4028 session timers against SIPp scenarios (`sipp/uac-options.xml`,
/// `sipp/uac-session-timer.xml`, `sipp/uas-422.xml`), real UDP on loopback, real timers. The
/// refresh scenario uses a 4 s session interval (our Min-SE lowered to 4 s in this test's
/// configuration) so it runs in seconds instead of a provider's 90 s.
@Suite("SIPp session timers and OPTIONS", .serialized, .timeLimit(.minutes(2)))
struct SIPpSessionTimerTests {
    static let sipp = "/usr/bin/sipp"
    static let sdp = ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

    private func startEndpoint(_ sessionTimer: SessionTimer.Settings = SessionTimer.Settings()) async throws -> SIPEndpoint {
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        return try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [], sessionTimer: sessionTimer))
    }

    private func scenario(_ name: String) -> String {
        Peers.repository.appendingPathComponent("sipp/\(name)").path
    }

    @Test("SIPp OPTIONS gets 200 with Allow (UPDATE), Accept (application/sdp) and Supported (timer)")
    func optionsAnswered() async throws {
        guard Peers.available(Self.sipp, package: "sip-tester") else { return }
        let endpoint = try await startEndpoint()
        let port = await endpoint.udpAddresses[0].port!
        let sipp = try await PeerProcess(
            Self.sipp, ["-sf", scenario("uac-options.xml"), "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error"],
            name: "sipp-options"
        )
        let status = await sipp.exitStatus()
        #expect(status == 0, "sipp exited \(status):\n\(sipp.tail())")
        await sipp.stop()
        await endpoint.shutdown()
    }

    @Test("A caller requiring Session-Expires 4 and refreshing by UPDATE keeps its call up past the interval; it hangs up, not us")
    func updateRefreshesKeepTheCallUp() async throws {
        guard Peers.available(Self.sipp, package: "sip-tester") else { return }
        let endpoint = try await startEndpoint(SessionTimer.Settings(sessionExpires: 4, minSE: 4))
        let port = await endpoint.udpAddresses[0].port!
        let answering = Task { () -> (SIPCallEvent?, Duration) in
            for await call in endpoint.incomingCalls {
                call.answer(sdp: Self.sdp)
                var last: SIPCallEvent?
                var confirmedAt: ContinuousClock.Instant?
                for await event in call.events {
                    if event == .confirmed { confirmedAt = .now }
                    last = event
                }
                return (last, confirmedAt.map { ContinuousClock.now - $0 } ?? .zero)
            }
            return (nil, .zero)
        }
        let sipp = try await PeerProcess(
            Self.sipp, ["-sf", scenario("uac-session-timer.xml"), "127.0.0.1:\(port)", "-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error"],
            name: "sipp-session-timer"
        )
        let status = await sipp.exitStatus()
        #expect(status == 0, "sipp exited \(status):\n\(sipp.tail())")
        let (end, lasted) = await answering.value
        #expect(end == .ended(.remoteHangUp), "the caller's BYE ended the call, not our expiry")
        #expect(lasted > .seconds(4), "the call outlived one session interval (\(lasted))")
        await sipp.stop()
        await endpoint.shutdown()
    }

    @Test("A callee answering 422 with Min-SE 1900 gets one retry with Session-Expires 1900 and answers it (RFC 4028 §7.4)")
    func retryAfter422() async throws {
        guard Peers.available(Self.sipp, package: "sip-tester") else { return }
        let sippPort = try Peers.freePort()
        let sipp = try await PeerProcess(
            Self.sipp, ["-sf", scenario("uas-422.xml"), "-i", "127.0.0.1", "-p", "\(sippPort)", "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"],
            name: "sipp-422"
        )
        let endpoint = try await startEndpoint()
        let from = try SIPNameAddress(parsing: "<sip:gateway@127.0.0.1>")
        let target = try SIPAnyURI(parsing: "sip:0975000888@127.0.0.1:\(sippPort)")
        let call = try await endpoint.call(target, from: from, sdp: Self.sdp)
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            if case .answered = event { call.hangUp() }
        }
        #expect(events.count == 2 && events.last == .ended(.localHangUp), "\(events)\n\(sipp.tail())")
        let status = await sipp.exitStatus()
        #expect(status == 0, "sipp exited \(status):\n\(sipp.tail())")
        await sipp.stop()
        await endpoint.shutdown()
    }

    @Test("voice_callin under a session timer the caller requires (Session-Expires 4, refreshed by UPDATE past the interval): the call stays up until the code is said twice and we hang up")
    func voiceCallInOutlivesTheInterval() async throws {
        guard Peers.available(Self.sipp, package: "sip-tester") else { return }
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 62_050...62_090), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media, sessionTimer: SessionTimer.Settings(sessionExpires: 4, minSE: 4))
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-callin-timer-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: trace) }
        let sipp = try await PeerProcess(
            Self.sipp, ["-sf", scenario("callin-voice-timer.xml"), "127.0.0.1:\(await stack.sipPort)", "-i", "127.0.0.1", "-p", "0", "-mp", "0", "-m", "1",
                        "-base_cseq", "2", "-nostdin", "-timeout", "60s", "-timeout_error", "-trace_msg", "-message_file", trace.path,
                        "-inf", try Peers.injectionFile([["0975000888", MissedCallTests.systemNumber]])],
            name: "sipp-callin-timer"
        )
        let status = await sipp.exitStatus()
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        #expect(status == 0, "sipp exited \(status):\n\(sipp.tail())\n\(messages.suffix(3_000))")
        // At least three refreshes, 1.5 s apart: the call outlived its 4 s interval several times over.
        #expect(messages.components(separatedBy: "\nUPDATE sip:").count - 1 >= 3, "\(messages.suffix(3_000))")
        // Ended by the dialogue (the code said twice), not by an expired session.
        #expect(try await eventuallyTrue { stack.gateway.calls.endedCalls[.completed] == 1 }, "\(stack.gateway.calls.endedCalls)")
        #expect(try await stack.core.service.events(id: started.verification.id).contains { ($0.detail ?? "").contains("call ended: completed") })
        await sipp.stop()
        await stack.stop()
    }
}
