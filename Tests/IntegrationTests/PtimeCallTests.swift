import Media
import NIOCore
import SIPMessage
import Testing
import Verification
import VoiceGateway

/// A caller whose offer says `a=ptime:40` (RFC 8866 §6.4) hears the code in 40 ms packets: 320
/// bytes of PCMU each, the RTP timestamp advancing 320 per packet, and the same bytes as the
/// 20 ms stream.
@Suite("Negotiated ptime reaches the packets sent", .serialized)
struct PtimeCallTests {
    @Test("voice_callin with a=ptime:40: 320-byte PCMU packets 320 timestamp units apart, the same audio as at 20 ms")
    func fortyMillisecondPackets() async throws {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: 63_456...63_496), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .voiceCallIn))
        let phone = try await Phone.start()
        let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio \(phone.rtp.localAddress!.port!) RTP/AVP 0 101\r\n"
            + "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:40\r\n"
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: ByteBuffer(string: offer)
        )
        var events: [SIPCallEvent] = []
        for await event in call.events { events.append(event) }
        #expect(events.last == .ended(.remoteHangUp), "the gateway hangs up after saying the code: \(events)")

        let packets = phone.packets
        try #require(packets.count > 50, "\(packets.count) packets")
        for (index, packet) in packets.enumerated() {
            #expect(packet.payload.count == 320, "packet \(index): \(packet.payload.count) bytes")
        }
        // 40 ms apart by RTP timestamp: 320 units per packet (a packet the sender skipped when it
        // fell behind leaves a whole multiple, RFC 3550 §5.1).
        let steps = zip(packets, packets.dropFirst()).map { Int(Int32(bitPattern: $1.timestamp &- $0.timestamp)) }
        #expect(steps.allSatisfy { $0 > 0 && $0 % 320 == 0 }, "\(Set(steps).sorted())")
        #expect(steps.filter { $0 == 320 }.count * 10 >= steps.count * 9, "mostly consecutive: \(Set(steps).sorted())")

        // The code, heard by matching the 20 ms digit prompts in the packets cut back to 20 ms.
        let prompts = try stack.gatewayPrompts().encoded(locale: "en", codec: .pcmu)
        let first = packets[0].timestamp
        var slots: [[UInt8]?] = []
        for packet in packets {
            let slot = Int(Int32(bitPattern: packet.timestamp &- first)) / 160
            if slot > slots.count { slots += Array(repeating: nil, count: min(slot - slots.count, 25)) }
            slots += [Array(packet.payload.prefix(160)), Array(packet.payload.suffix(160))]
        }
        let digits = Phone.digits(in: slots, prompts: prompts)
        try await Phone.expectHeardCodeApproves(digits, service: stack.core.service, id: started.verification.id)

        // Byte for byte the 20 ms readout of that code: every 40 ms packet of the readout is the
        // next 320 bytes of the 20 ms stream (the last padded with silence).
        var reference = prompts.player(for: try PromptComposer().codeReadout(String(digits.prefix(6))))
        var stream: [UInt8] = []
        while let frame = reference.nextFrame() { stream += frame }
        let readoutPackets = (stream.count + 319) / 320
        var compared = 0
        for packet in packets {
            let slot = Int(Int32(bitPattern: packet.timestamp &- first)) / 320
            guard slot < readoutPackets else { break }
            let expected = Array(stream[(slot * 320)..<min(stream.count, slot * 320 + 320)])
            #expect(Array(packet.payload.prefix(expected.count)) == expected, "packet at slot \(slot)")
            compared += 1
        }
        #expect(compared * 10 >= readoutPackets * 9, "\(compared) of \(readoutPackets) readout packets received")
        await phone.stop()
        await stack.stop()
    }
}
