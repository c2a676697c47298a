import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Prometheus
import RTP
import SIPMessage
import TestSupport
import Testing
import Verification
import VerificationServer
import VoiceGateway

/// Issue 17, "Media across NAT": a caller whose SDP names one address (a private one, or another
/// family: linphone's `c=IN IP6 fd00::2`) while its RTP comes from elsewhere. With sip.conf
/// `media_latching = signalling` the gateway latches onto the signalling peer's IP (RFC 4961) and
/// hears the keys; a third party cannot take the latch; with latching off the packets are
/// strangers' and are counted, and the RTP socket survives our sends to an address it cannot reach.
@Suite("Media latching: SDP address is not where the RTP comes from", .serialized)
struct MediaLatchingTests {
    private func stack(_ range: ClosedRange<Int>, latching: RTPLatching, externalAddress: String? = nil, firstDigitTimeout: Duration = .seconds(8)) async throws -> MissedCallTests.Stack {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: range), firstDigitTimeout: firstDigitTimeout,
                                     externalAddress: externalAddress)
        return try await MissedCallTests.Stack(media: media, mediaLatching: latching)
    }

    /// An offer announcing `connection` (e.g. `IN IP6 fd00::2`) at the phone's RTP port.
    private func offer(_ phone: Phone, connection: String) -> ByteBuffer {
        ByteBuffer(string: "v=0\r\no=- 1 1 \(connection)\r\ns=-\r\nc=\(connection)\r\nt=0 0\r\nm=audio \(phone.rtp.localAddress!.port!) RTP/AVP 0 101\r\n"
            + "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")
    }

    /// The gateway's RTP port in its SDP answer.
    private func rtpPort(_ answer: ByteBuffer) throws -> Int {
        let text = String(buffer: answer)
        return try #require(text.split(separator: "\r\n").first { $0.hasPrefix("m=audio ") }.flatMap { Int($0.split(separator: " ")[1]) })
    }

    private func metrics(_ stack: MissedCallTests.Stack) -> String {
        let registry = PrometheusCollectorRegistry()
        GatewayMetrics(registry: registry, calls: stack.gateway.calls, media: stack.media?.statistics).collect()
        return registry.emitToString()
    }

    @Test("latching = signalling, SDP c=IN IP6 fd00::2, RFC 4733 keys from 127.0.0.1: a stranger's keys (127.0.0.2) do not latch, the caller's do; approved; our RTP goes to the latched address")
    func signallingLatchApproves() async throws {
        let stack = try await stack(62_100...62_160, latching: .signallingSource)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let phone = try await Phone.start()
        let stranger = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.2", port: 0).get()
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: offer(phone, connection: "IN IP6 fd00::2")
        )
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            guard case .answered(let answer) = event else { continue }
            let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: try rtpPort(answer))
            // Nothing can be sent to fd00::2 from our IPv4 socket, and nothing is latched yet.
            #expect(phone.packetCount == 0)
            // First a third party (neither the SDP's IP nor the signalling peer's) keys a wrong code:
            // it must not latch, else the caller's keys would be the strangers and nothing would approve.
            try await Phone.sendRFC4733(code: code == "111111" ? "222222" : "111111", from: stranger, to: gateway)
            try await Phone.sendRFC4733(code: code, from: phone.rtp, to: gateway)
        }
        #expect(events.last == .ended(.remoteHangUp), "the gateway hangs up after 'verified': \(events)")
        let verification = try await stack.core.service.verification(id: started.verification.id)
        #expect(verification.status == .approved)
        #expect(verification.checkAttempts == 0, "the stranger's wrong code was never checked")
        // "Verified" and "goodbye" went to where the caller's media came from (RFC 4961 §4).
        #expect(phone.packetCount > 0, "the gateway sent its RTP to the latched address")
        try? await stranger.close()
        await phone.stop()
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let text = metrics(stack)
        #expect(try #require(metricValue(text, "verigate_rtp_stranger_packets_total")) >= Double(code.count), "the stranger's keys were dropped: \(text)")
        #expect(try #require(metricValue(text, "verigate_rtp_packets_received_total")) >= Double(code.count), "\(text)")
        await stack.stop()
    }

    @Test("latching = no, SDP c=IN IP4 192.0.2.1, keys from 127.0.0.1 all through the call: nothing is received, every packet is counted as a stranger's (the socket outlives our sends to nowhere), nothing approved")
    func withoutLatchingNothingIsHeard() async throws {
        let stack = try await stack(62_170...62_210, latching: .off, firstDigitTimeout: .seconds(2))
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let phone = try await Phone.start()
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: offer(phone, connection: "IN IP4 192.0.2.1")
        )
        // The phone keys the code over and over, as a caller who is not heard would, until the
        // gateway gives up (no key within first_digit_timeout), says goodbye and hangs up.
        var keying: Task<Int, Error>?
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            switch event {
            case .answered(let answer):
                let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: try rtpPort(answer))
                let rtp = phone.rtp
                keying = Task {
                    var sent = 0
                    while !Task.isCancelled {
                        try await Phone.sendRFC4733(code: code, from: rtp, to: gateway)
                        sent += code.count * 5
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    return sent
                }
            case .ended:
                keying?.cancel()
            default:
                break
            }
        }
        #expect(events.last == .ended(.remoteHangUp), "the gateway ends the call: \(events)")
        let sent = try #require(try await keying?.value)
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let verification = try await stack.core.service.verification(id: started.verification.id)
        #expect(verification.status == .pending)
        #expect(verification.checkAttempts == 0)
        #expect(phone.packetCount == 0)
        let text = metrics(stack)
        #expect(metricValue(text, "verigate_rtp_packets_received_total") == 0, "\(text)")
        // All but the last round, which may have come after the session closed, were counted. The
        // keying runs from the answer to the hang-up (at least first_digit_timeout, 2 s), so at
        // least two rounds went out however slow this machine is; how many more is its speed.
        let strangers = try #require(metricValue(text, "verigate_rtp_stranger_packets_total"), "\(text)")
        #expect(sent >= code.count * 5 * 2, "sent \(sent)")
        #expect(strangers >= Double(sent - code.count * 5), "sent \(sent): \(text)")
        await phone.stop()
        await stack.stop()
    }

    @Test("rtp_external_address is what our SDP announces (c= and o=), while RTP stays bound to the local address")
    func externalAddressInSDP() async throws {
        let stack = try await stack(62_220...62_260, latching: .signallingSource, externalAddress: "203.0.113.5")
        _ = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let phone = try await Phone.start()
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: phone.offer
        )
        var answered: String?
        for await event in call.events {
            guard case .answered(let answer) = event else { continue }
            answered = String(buffer: answer)
            call.hangUp()
        }
        let sdp = try #require(answered)
        #expect(sdp.contains("\r\nc=IN IP4 203.0.113.5\r\n"), "\(sdp)")
        #expect(sdp.contains(" IN IP4 203.0.113.5\r\ns="), "o= names the external address too: \(sdp)")
        #expect(!sdp.contains("127.0.0.1"), "\(sdp)")
        await phone.stop()
        await stack.stop()
    }
}
