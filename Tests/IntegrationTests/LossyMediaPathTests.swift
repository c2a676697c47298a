import Foundation
import Media
import NIOCore
import NIOPosix
import RTP
import SIPMessage
import TestSupport
import Testing
import Verification
import VoiceGateway

/// Issue 14, "the whole media path in every call": in-band keys (ToneGenerator tones, PCMU, sent
/// as RTP by the test phone) reach a real gateway's dtmf_callin through a seeded relay with 5 %
/// loss, duplicates and 0–60 ms of jitter (so reordering); through the jitter buffer the code is
/// collected and approved. (Without the buffer the outcome over this path depends on timing: the
/// comparison on one fixed arrival order is AudioPlayoutTests'.)
@Suite("In-band keys over a lossy, reordering path", .serialized)
struct LossyMediaPathTests {
    /// PCMU frames of 20 ms: one second of silence, each key as a 120 ms tone and 120 ms of silence
    /// (a keypad's usual timing; ITU-T Q.24 asks detectors for 40 ms), silence.
    static func keyedFrames(_ keys: String) throws -> [[UInt8]] {
        var codec = G711Codec(law: .muLaw)
        let silence = [Int16](repeating: 0, count: 160)
        var frames = Array(repeating: silence, count: 50)
        for key in keys {
            let digit = try #require(DTMFDigit(character: key))
            var generator = ToneGenerator(tones: [.init(frequency: digit.lowFrequency, dBm0: -10), .init(frequency: digit.highFrequency, dBm0: -10)])
            for _ in 0..<6 { frames.append(generator.generate(count: 160)) }
            frames += Array(repeating: silence, count: 6)
        }
        frames += Array(repeating: silence, count: 50)
        return try frames.map { try codec.encode($0) }
    }

    /// A dtmf_callin call whose keys go through the relay; the verification's status, what the relay did, the frames sent.
    private func keyInBand(ports: ClosedRange<Int>) async throws -> (status: VerificationStatus, relay: LossyUDPRelay.Counts, frames: Int) {
        let media = try GatewayMedia(promptsDirectory: AnsweredCallTests.prompts, ports: RTPPortAllocator(range: ports), firstDigitTimeout: .seconds(8))
        let stack = try await MissedCallTests.Stack(media: media)
        let started = try await stack.core.service.start(StartRequest(to: "0975000888", channel: .dtmfCallIn))
        let code = try #require(started.code)
        let frames = try Self.keyedFrames(code)
        let phone = try await Phone.start()
        let call = try await phone.endpoint.call(
            try SIPAnyURI(parsing: "sip:+886229996666@127.0.0.1:\(await stack.sipPort)"), from: try SIPNameAddress(parsing: "<sip:0975000888@127.0.0.1>"),
            sdp: phone.offer
        )
        var relay: LossyUDPRelay?
        var keying: Task<Void, Error>?
        for await event in call.events {
            switch event {
            case .answered(let answer):
                let gateway = try SocketAddress(ipAddress: "127.0.0.1", port: try Self.rtpPort(answer))
                let started = try await LossyUDPRelay.start(to: gateway, schedule: RelaySchedule(seed: 14))
                relay = started
                let rtp = phone.rtp
                keying = Task {
                    // One packet per 20 ms on the clock's deadlines (not sleeps that add up).
                    let clock = ContinuousClock()
                    let start = clock.now
                    for (index, frame) in frames.enumerated() {
                        try await clock.sleep(until: start + .milliseconds(20 * index))
                        var packet = ByteBuffer()
                        _ = try packet.writeRTPPacket(
                            RTPHeader(marker: index == 0, payloadType: 0, sequenceNumber: UInt16(truncatingIfNeeded: 4_000 + index),
                                      timestamp: UInt32(index * 160), ssrc: 0x1414_1414),
                            payload: ByteBuffer(bytes: frame)
                        )
                        try await rtp.writeAndFlush(AddressedEnvelope(remoteAddress: started.address, data: packet))
                    }
                    // A gateway that did not hear the code waits for more keys: hang up after the interdigit time.
                    try await Task.sleep(for: .seconds(5))
                    call.hangUp()
                }
            case .ended:
                keying?.cancel()
            default:
                break
            }
        }
        let status = try await stack.core.service.verification(id: started.verification.id).status
        let counts = try #require(relay?.snapshot)
        // The session's loss (RFC 3550 A.3: expected − received, duplicates counted as received)
        // is what the relay dropped less what it duplicated; packets dropped at the very end are
        // not yet expected (A.1: the highest sequence number tells what is), nor the two of probation.
        #expect(try await eventuallyTrue { stack.media?.statistics.snapshot.openSessions == 0 })
        let lost = try #require(stack.media?.statistics.snapshot.packetsLost)
        #expect(abs(lost - (counts.dropped - counts.duplicated)) <= 2, "lost \(lost), relay \(counts)")
        let jitter = try #require(stack.media?.statistics.drainJitter().first)
        // Delays uniform over 0…60 ms: mean |D| between neighbours is 20 ms; A.8's estimate hovers near it.
        #expect(jitter > 0.005 && jitter < 0.06, "jitter \(jitter) s")
        // The audit trail of the answered call carries the same figures (call_ended.media).
        // An answered call's end is recorded with its figures even though the code approved it already.
        let expected = ", lost \(lost), jitter "
        #expect(try await eventuallyTrue(within: .seconds(5)) {
            try await stack.core.service.events(id: started.verification.id).compactMap(\.detail).contains {
                $0.hasPrefix("call media: received ") && $0.contains(expected)
            }
        }, "lost \(lost)")
        await relay?.stop()
        await phone.stop()
        await stack.stop()
        return (status, counts, frames.count)
    }

    static func rtpPort(_ answer: ByteBuffer) throws -> Int {
        let text = String(buffer: answer)
        return try #require(text.split(separator: "\r\n").first { $0.hasPrefix("m=audio ") }.flatMap { Int($0.split(separator: " ")[1]) })
    }

    @Test("dtmf_callin: the code keyed in-band over 5 % loss, duplicates and 60 ms jitter is collected through the jitter buffer and approves")
    func keysThroughJitterBuffer() async throws {
        let (status, relay, frames) = try await keyInBand(ports: 62_486...62_526)
        #expect(relay.received == frames, "every frame went through the relay: \(relay)")
        #expect(relay.dropped > 0 && relay.duplicated >= 0, "the relay dropped packets: \(relay)")
        #expect(status == .approved, "relay: \(relay)")
    }
}
