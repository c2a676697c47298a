import Foundation
import Logging
import Media
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

/// voice_callin and dtmf_callin end to end: core ↔ socket ↔ gateway with prompts and RTP.
@Suite("Answered call-in methods end to end", .serialized)
struct AnsweredCallTests {
    static let prompts = Peers.repository.appendingPathComponent("prompts")

    private func stack() async throws -> MissedCallTests.Stack {
        let media = try GatewayMedia(promptsDirectory: Self.prompts, ports: RTPPortAllocator(range: 31_000...31_200), firstDigitTimeout: .seconds(8))
        return try await MissedCallTests.Stack(media: media)
    }

    @Test("dtmf_callin: SIPp keys the code shown on the page (RFC 4733); the call approves it and hangs up")
    func keyedCodeApproves() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let stack = try await stack()
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-dtmf.xml").path, "127.0.0.1:\(await stack.sipPort)", "-i", "127.0.0.1", "-p", "0",
             "-mp", "0", "-m", "1", "-nostdin", "-timeout", "40s", "-inf", try Peers.injectionFile([["0975000888", MissedCallTests.systemNumber, code]])],
            name: "sipp-dtmf"
        )
        let status = await sipp.exitStatus()
        #expect(status == 0, "\(sipp.tail())")
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .approved)
        await sipp.stop()
        #expect(try await eventuallyTrue { stack.gateway.link.unacknowledgedOutcomes == 0 })
        await stack.stop()
    }

    @Test("voice_callin: the code is heard — recovered from the RTP by matching our digit prompts — and approves when typed")
    func spokenCodeIsHeard() async throws {
        let stack = try await stack()
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let phone = try await Phone.start()
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: phone.offer
        )
        var events: [SIPCallEvent] = []
        for await event in call.events { events.append(event) }
        #expect(events.first.map { if case .answered = $0 { true } else { false } } == true)
        #expect(events.last == .ended(.remoteHangUp), "the gateway hangs up after saying the code")
        try await Phone.expectHeardCodeApproves(try phone.heardDigits(stack.gatewayPrompts()), service: stack.core.service, id: started.verification.id)
        // The gateway counted what it sent: every packet the phone got, in one session, now closed
        // (a session adds its counts when it closes).
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let sent = try #require(stack.media?.statistics.snapshot)
        #expect(sent.packetsSent >= phone.packetCount && phone.packetCount > 0, "\(sent), phone got \(phone.packetCount)")
        #expect(sent.peakSessions == 1)
        await phone.stop()
        await stack.stop()
    }

    @Test("no SDP in the INVITE gets 488; the caller hanging up mid-prompt frees the RTP port and the call")
    func badOfferAndHangUp() async throws {
        let stack = try await stack()
        _ = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let phone = try await Phone.start()
        let target = try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)")
        let from = try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>")
        let noSDP = try await phone.endpoint.call(target, from: from, sdp: ByteBuffer())
        var first: [SIPCallEvent] = []
        for await event in noSDP.events { first.append(event) }
        #expect(first.last.map { if case .ended(.failed(488, _)) = $0 { true } else { false } } == true, "\(first)")

        let call = try await phone.endpoint.call(target, from: from, sdp: phone.offer)
        for await event in call.events {
            if case .answered = event {
                // Hang up once the prompt is playing.
                while phone.packetCount < 10 { try await Task.sleep(for: .milliseconds(20)) }
                call.hangUp()
            }
        }
        #expect(try await eventuallyTrue { stack.gatewayPortsInUse() == 0 })
        #expect(try await eventuallyTrue { try await stack.endpoint.statistics().calls == 0 })
        await phone.stop()
        await stack.stop()
    }

    @Test("an RTP port another program holds is skipped: the answer names the next one and the prompt is heard; with every port held, 503 at once")
    func heldRTPPortIsSkipped() async throws {
        // Three even ports; another program holds the first (RTP) and, for the second call, the rest.
        let range = 63_780...63_784
        let media = try GatewayMedia(promptsDirectory: Self.prompts, ports: RTPPortAllocator(range: range), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media)
        let loopback = MultiThreadedEventLoopGroup.singleton
        let held = try await DatagramBootstrap(group: loopback).bind(host: "127.0.0.1", port: range.lowerBound).get()
        _ = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let phone = try await Phone.start()
        let target = try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)")
        let from = try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>")

        let call = try await phone.endpoint.call(target, from: from, sdp: phone.offer)
        var answeredPort: Int?
        for await event in call.events {
            if case .answered(let sdp) = event {
                let line = String(buffer: sdp).split(separator: "\r\n").first { $0.hasPrefix("m=audio ") }
                answeredPort = line.flatMap { Int($0.split(separator: " ")[1]) }
                #expect(try await eventuallyTrue { phone.packetCount >= 10 }, "the prompt came from the port the answer named")
                call.hangUp()
            }
        }
        #expect(answeredPort == range.lowerBound + 2, "the held port \(range.lowerBound) was skipped")
        #expect(try await eventuallyTrue { stack.gatewayPortsInUse() == 0 })

        // Every port of the range held by another program: refused at once with 503 and
        // Retry-After (RFC 3261 §21.5.4), not answered and then failed.
        var others: [any Channel] = []
        for port in [range.lowerBound + 2, range.lowerBound + 4] {
            others.append(try await DatagramBootstrap(group: loopback).bind(host: "127.0.0.1", port: port).get())
        }
        let refused = try await phone.endpoint.call(target, from: from, sdp: phone.offer)
        var events: [SIPCallEvent] = []
        for await event in refused.events { events.append(event) }
        #expect(events.last.map { if case .ended(.failed(503, _)) = $0 { true } else { false } } == true, "\(events)")
        #expect(stack.gatewayPortsInUse() == 0)
        for channel in [held] + others { try await channel.close() }
        await phone.stop()
        await stack.stop()
    }
}

extension MissedCallTests.Stack {
    func gatewayPrompts() throws -> PromptStore { try PromptStore(directory: AnsweredCallTests.prompts) }
    func gatewayPortsInUse() -> Int { media?.ports.inUse ?? -1 }
}

/// A test phone: our SIP endpoint for signalling and a UDP socket recording the RTP payloads.
final class Phone: Sendable {
    let endpoint: SIPEndpoint
    let rtp: NIOCore.Channel
    private let received: NIOLockedValueBox<[(timestamp: UInt32, payload: [UInt8])]>

    private init(endpoint: SIPEndpoint, rtp: NIOCore.Channel, received: NIOLockedValueBox<[(timestamp: UInt32, payload: [UInt8])]>) {
        self.endpoint = endpoint
        self.rtp = rtp
        self.received = received
    }

    static func start() async throws -> Phone {
        let loopback = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
        let endpoint = try await SIPEndpoint.start(SIPEndpointConfiguration(udp: [loopback], tcp: [loopback]))
        let received = NIOLockedValueBox<[(timestamp: UInt32, payload: [UInt8])]>([])
        let rtp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Recorder(received: received)) }
            }
            .bind(to: loopback).get()
        return Phone(endpoint: endpoint, rtp: rtp, received: received)
    }

    var offer: ByteBuffer {
        ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(rtp.localAddress!.port!) RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")
    }

    /// PCMU packets received so far.
    var packetCount: Int { received.withLockedValue { $0.count } }
    /// The PCMU packets received so far, in arrival order.
    var packets: [(timestamp: UInt32, payload: [UInt8])] { received.withLockedValue { $0 } }

    /// Takes the next incoming calls: refuses one with each of `statuses` in turn, then rings and
    /// answers the next, and — once our 200 is ACKed — keys `key` by SIP INFO (voice_call says the
    /// code only after a key; nil keys nothing); the answered call's events once it has ended.
    func answerNextCall(rejecting statuses: [Int] = [], keying key: Character? = "5") -> Task<[SIPCallEvent], Never> {
        Task {
            var iterator = endpoint.incomingCalls.makeAsyncIterator()
            for status in statuses {
                guard let refused = await iterator.next() else { return [] }
                refused.reject(statusCode: status)
            }
            guard let call = await iterator.next() else { return [] }
            call.ring()
            call.answer(sdp: offer)
            var events: [SIPCallEvent] = []
            for await event in call.events {
                events.append(event)
                if event == .confirmed, let key {
                    call.sendInfo(body: ByteBuffer(string: "Signal=\(key)\r\nDuration=160\r\n"), contentType: "application/dtmf-relay")
                }
            }
            return events
        }
    }

    /// The code is said twice so that one glitch does not cost it: on a loaded machine a stall of
    /// over 200 ms drops frames (RTPPacer) and a recording may blur a digit. So: twelve digits are
    /// two equal halves; at least one repetition must be exact — the first six or the last six
    /// digits heard approve (≤ 2 of the 5 attempts).
    static func expectHeardCodeApproves(_ digits: String, service: VerificationService, id: String) async throws {
        #expect(digits.count >= 11, "the code twice: \(digits)")
        if digits.count == 12 { #expect(digits.prefix(6) == digits.suffix(6), "\(digits)") }
        var approved = false
        for candidate in Set([String(digits.prefix(6)), String(digits.suffix(6))]).sorted() where !approved {
            approved = try await service.check(id: id, code: candidate).status == .approved
        }
        #expect(approved, "heard \(digits)")
    }

    /// The digits heard so far, matched against the English PCMU digit prompts of `prompts`.
    func heardDigits(_ prompts: PromptStore) throws -> String {
        Self.digits(in: payloads(), prompts: try prompts.encoded(locale: "en", codec: .pcmu))
    }

    /// The received frames placed by RTP timestamp, as a jitter buffer plays them: a frame the
    /// sender skipped when it fell behind (RFC 3550 §5.1: the timestamp advances, nothing is sent)
    /// is a `nil` slot. Gaps longer than `maxGap` frames (pauses between prompts) are shortened.
    func payloads(maxGap: Int = 25) -> [[UInt8]?] {
        let packets = received.withLockedValue { $0 }
        guard let first = packets.first else { return [] }
        var slots: [[UInt8]?] = []
        var lastSlot = -1
        for packet in packets.sorted(by: { Int32(bitPattern: $0.timestamp &- first.timestamp) < Int32(bitPattern: $1.timestamp &- first.timestamp) }) {
            let slot = Int(Int32(bitPattern: packet.timestamp &- first.timestamp)) / 160
            guard slot > lastSlot else { continue }  // a duplicate
            if slot - lastSlot > 1 { slots += Array(repeating: nil, count: min(slot - lastSlot - 1, maxGap)) }
            slots.append(packet.payload)
            lastSlot = slot
        }
        return slots
    }

    func stop() async {
        await endpoint.shutdown()
        try? await rtp.close()
    }

    /// The digits whose encoded prompt appears in `payloads`, in order. A frame the sender skipped
    /// (a `nil` slot) matches anything, as long as most of the digit's frames arrived intact.
    static func digits(in payloads: [[UInt8]?], prompts: EncodedPrompts) -> String {
        let digitFrames = (0...9).compactMap { d in prompts.frames[.digit(d)].map { (d, $0) } }
        func matches(_ frames: [[UInt8]], at index: Int) -> Bool {
            guard index + frames.count <= payloads.count else { return false }
            var intact = 0
            for (offset, frame) in frames.enumerated() {
                guard let heard = payloads[index + offset] else { continue }
                guard heard == frame else { return false }
                intact += 1
            }
            return intact * 4 >= frames.count * 3
        }
        var out = ""
        var index = 0
        while index < payloads.count {
            if let (digit, frames) = digitFrames.first(where: { matches($1, at: index) }) {
                out += String(digit)
                index += frames.count
            } else {
                index += 1
            }
        }
        return out
    }

    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let received: NIOLockedValueBox<[(timestamp: UInt32, payload: [UInt8])]>
        init(received: NIOLockedValueBox<[(timestamp: UInt32, payload: [UInt8])]>) { self.received = received }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let packet = try? RTPPacket(parsing: unwrapInboundIn(data).data), packet.header.payloadType == 0 else { return }
            received.withLockedValue { $0.append((packet.header.timestamp, Array(packet.payload.readableBytesView))) }
        }
    }
}

/// More answered-call cases: SIPp's voice call-in, wrong codes, codecs, strangers.
@Suite("Answered calls: SIPp voice call-in, wrong codes, codecs", .serialized)
struct AnsweredCallEdgeTests {
    private func stack(_ range: ClosedRange<Int>) async throws -> MissedCallTests.Stack {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: range), firstDigitTimeout: .seconds(8))
        return try await MissedCallTests.Stack(media: media)
    }

    @Test("voice_callin with SIPp (sipp/callin-voice.xml): answered, the code issued, BYE from the gateway")
    func sippVoiceCallIn() async throws {
        guard Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let stack = try await stack(32_000...32_100)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-voice.xml").path, "127.0.0.1:\(await stack.sipPort)", "-i", "127.0.0.1", "-p", "0",
             "-mp", "0", "-m", "1", "-nostdin", "-timeout", "40s", "-inf", try Peers.injectionFile([["0975000888", MissedCallTests.systemNumber]])],
            name: "sipp-voice"
        )
        let status = await sipp.exitStatus()
        #expect(status == 0, "\(sipp.tail())")
        let trail = try await stack.core.service.events(id: started.verification.id)
        #expect(trail.contains { $0.kind == .sent && $0.detail == "voice_callin" }, "a code was issued for the call")
        await sipp.stop()
        await stack.stop()
    }

    @Test("dtmf_callin: three wrong codes (keyed by SIP INFO) end the call politely; the verification stays pending with three attempts used")
    func threeWrongCodes() async throws {
        let stack = try await stack(32_200...32_300)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let wrong = code == "111111" ? "222222" : "111111"
        let phone = try await Phone.start()
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"), sdp: phone.offer
        )
        var events: [SIPCallEvent] = []
        for await event in call.events {
            events.append(event)
            if case .answered = event {
                // Keys typed ahead are kept: three wrong codes in a row (RFC 6086 INFO, application/dtmf-relay).
                for key in String(repeating: wrong, count: 3) {
                    call.sendInfo(body: ByteBuffer(string: "Signal=\(key)\r\nDuration=160\r\n"), contentType: "application/dtmf-relay")
                }
            }
        }
        #expect(events.last == .ended(.remoteHangUp), "the gateway ends the call: \(events)")
        let after = try await stack.core.service.verification(id: started.verification.id)
        #expect(after.status == .pending)
        #expect(after.checkAttempts == 3)
        await phone.stop()
        await stack.stop()
    }

    @Test("an offer with no codec we speak gets 488, and RTP from a stranger cannot key the code")
    func codecAndStranger() async throws {
        let stack = try await stack(32_400...32_500)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let phone = try await Phone.start()
        let target = try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)")
        let from = try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>")
        let g722 = ByteBuffer(string: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n")
        let refused = try await phone.endpoint.call(target, from: from, sdp: g722)
        var refusedEvents: [SIPCallEvent] = []
        for await event in refused.events { refusedEvents.append(event) }
        #expect(refusedEvents.last.map { if case .ended(.failed(488, _)) = $0 { true } else { false } } == true, "\(refusedEvents)")

        // The phone's media is on 127.0.0.2 (still loopback): RTP from 127.0.0.1 is a stranger's.
        let counted = NIOLockedValueBox(0)
        let legit = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(PacketCounter(count: counted)) } }
            .bind(host: "127.0.0.2", port: 0).get()
        let media = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio \(legit.localAddress!.port!) RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        let call = try await phone.endpoint.call(target, from: from, sdp: ByteBuffer(string: media))
        let prompt = try stack.gatewayPrompts().encoded(locale: "en", codec: .pcmu).player(for: PromptComposer().message(.enterCode)).frameCount
        let wrong = code == "111111" ? "222222" : "111111"
        for await event in call.events {
            guard case .answered(let answer) = event else { continue }
            let text = String(buffer: answer)
            let port = try #require(text.split(separator: "\r\n").first { $0.hasPrefix("m=audio ") }.flatMap { Int($0.split(separator: " ")[1]) })
            let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            // Once "please enter the code" has played, the stranger keys the right code, then the phone a wrong one.
            #expect(try await eventuallyTrue { counted.withLockedValue { $0 } >= prompt })
            try await Phone.sendRFC4733(code: code, from: phone.rtp, to: gateway)
            try await Phone.sendRFC4733(code: wrong, from: legit, to: gateway)
            #expect(try await eventuallyTrue { try await stack.core.service.verification(id: started.verification.id).checkAttempts == 1 })
            call.hangUp()
        }
        // Only the phone's keys counted: one wrong attempt, still pending.
        #expect(try await stack.core.service.verification(id: started.verification.id).status == .pending)
        try? await legit.close()
        await phone.stop()
        await stack.stop()
        // The gateway's metrics tell the same story: what the stranger sent was dropped and
        // counted, the phone's keys were received, the answered call counted by its decision.
        let registry = PrometheusCollectorRegistry()
        GatewayMetrics(registry: registry, calls: stack.gateway.calls, media: stack.media?.statistics).collect()
        let text = registry.emitToString()
        let strangers = try #require(metricValue(text, "verigate_rtp_stranger_packets_total"), "\(text)")
        let received = try #require(metricValue(text, "verigate_rtp_packets_received_total"), "\(text)")
        #expect(strangers >= Double(code.count), "each keyed digit is at least one packet: \(text)")
        #expect(received >= Double(wrong.count), "\(text)")
        #expect(metricValue(text, #"verigate_gateway_inbound_calls_total{result="collect_code"}"#) == 2, "the 488 call and the keyed one: \(text)")
        #expect(metricValue(text, "verigate_rtp_sessions") == 0)
        #expect(metricValue(text, "verigate_rtp_packets_lost_total") == 0, "nothing is lost on loopback: \(text)")
        #expect(text.contains("verigate_rtp_jitter_seconds_count 1"), "one session's jitter: \(text)")
    }
}

/// Counts datagrams received.
final class PacketCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let count: NIOLockedValueBox<Int>
    init(count: NIOLockedValueBox<Int>) { self.count = count }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { count.withLockedValue { $0 += 1 } }
}

extension Phone {
    /// Sends `code` as RFC 4733 events (payload type 101, end packets thrice) from `channel`, each
    /// packet passed through `protect` first (SRTP tests encrypt or forge them there).
    static func sendRFC4733(code: String, ssrc: UInt32 = 0x5151_5151, from channel: NIOCore.Channel, to address: SocketAddress,
                            protect: (inout ByteBuffer) throws -> Void = { _ in }) async throws {
        var sequence: UInt16 = 1
        var timestamp: UInt32 = 1_000
        for key in code.compactMap({ $0.wholeNumberValue }) {
            for (index, duration) in [400, 800, 1_280, 1_280, 1_280].enumerated() {
                let end = index >= 2
                var packet = ByteBuffer()
                _ = try packet.writeRTPPacket(
                    RTPHeader(marker: index == 0, payloadType: 101, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc),
                    payload: ByteBuffer(bytes: [UInt8(key), end ? 0x8A : 0x0A, UInt8(duration >> 8), UInt8(duration & 0xFF)])
                )
                try protect(&packet)
                sequence &+= 1
                try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: packet))
            }
            timestamp &+= 2_000
        }
    }
}
