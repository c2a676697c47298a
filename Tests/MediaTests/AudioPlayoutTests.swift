import Media
import TestSupport
import Testing

/// `AudioPlayout` (jitter buffer → decoder → in-band detector) on a manual clock: in-band keys
/// sent as G.711 over a seeded path with 5 % loss, duplicates and 0–60 ms of jitter (so packets
/// arrive out of order) are heard as keyed; decoded in arrival order, without the buffer, they are not.
@Suite("AudioPlayout: in-band keys through the jitter buffer")
struct AudioPlayoutTests {
    /// PCMU frames of 20 ms: `lead` of silence, each key as an 80 ms tone and 100 ms of silence, then silence.
    static func keyedFrames(_ keys: String, lead: Int = 25) -> [[UInt8]] {
        var codec = G711Codec(law: .muLaw)
        var frames: [[Int16]] = Array(repeating: Array(repeating: 0, count: 160), count: lead)
        for key in keys {
            let digit = DTMFDigit(character: key)!
            var generator = ToneGenerator(tones: [.init(frequency: digit.lowFrequency, dBm0: -10), .init(frequency: digit.highFrequency, dBm0: -10)])
            let tone = generator.generate(count: 640)
            for i in 0..<4 { frames.append(Array(tone[(i * 160)..<((i + 1) * 160)])) }
            frames += Array(repeating: Array(repeating: 0, count: 160), count: 5)
        }
        frames += Array(repeating: Array(repeating: 0, count: 160), count: 25)
        return frames.map { (try? codec.encode($0)) ?? [] }
    }

    /// Packet `i` is sent at i × 20 ms; what arrives when, after the relay's decisions.
    static func arrivals(of frames: [[UInt8]], seed: UInt64) -> (packets: [(arrival: Duration, sequence: UInt16, payload: [UInt8])], dropped: Int) {
        var schedule = RelaySchedule(seed: seed)
        var packets: [(arrival: Duration, sequence: UInt16, payload: [UInt8])] = []
        var dropped = 0
        for (i, frame) in frames.enumerated() {
            switch schedule.next() {
            case .drop:
                dropped += 1
            case .deliver(let delay, let duplicate):
                let arrival = Duration.milliseconds(20 * i) + delay
                packets.append((arrival, UInt16(i), frame))
                if duplicate { packets.append((arrival + .microseconds(50), UInt16(i), frame)) }
            }
        }
        return (packets.sorted { $0.arrival < $1.arrival }, dropped)
    }

    static let keys = "1593570482"

    @Test("keys over 5 % loss and 60 ms jitter are heard, in order, through the buffer; the path did reorder and drop")
    func keysThroughBuffer() throws {
        let frames = Self.keyedFrames(Self.keys)
        let (packets, dropped) = Self.arrivals(of: frames, seed: 14)
        #expect(dropped > 0, "the seeded path drops packets")
        #expect(zip(packets, packets.dropFirst()).contains { $0.sequence > $1.sequence }, "the seeded path reorders packets")
        var playout = AudioPlayout(decoder: G711Codec(law: .muLaw), frameDuration: .milliseconds(20))
        var heard = ""
        var next = 0
        // The playout clock ticks every 20 ms, 7 ms out of phase with the sender.
        var now = Duration.milliseconds(7)
        while now < .milliseconds(20 * (frames.count + 20)) {
            while next < packets.count, packets[next].arrival <= now {
                let p = packets[next]
                playout.packetReceived(ssrc: 7, sequenceNumber: p.sequence, timestamp: UInt32(p.sequence) * 160, arrival: p.arrival, payload: p.payload)
                next += 1
            }
            heard += playout.tick(now: now).map { String($0.digit.character) }.joined()
            now += .milliseconds(20)
        }
        #expect(heard == Self.keys, "buffer statistics: \(playout.buffer.statistics)")
        #expect(playout.buffer.statistics.duplicates > 0 || packets.count == frames.count - dropped, "duplicates dropped")
    }

    @Test("the same packets decoded in arrival order, without the buffer, are not heard as keyed")
    func keysWithoutBuffer() throws {
        let frames = Self.keyedFrames(Self.keys)
        let (packets, _) = Self.arrivals(of: frames, seed: 14)
        var playout = AudioPlayout(decoder: G711Codec(law: .muLaw), frameDuration: .milliseconds(20))
        let heard = packets.flatMap { playout.decodeNow($0.payload) }.map { String($0.digit.character) }.joined()
        #expect(heard != Self.keys, "heard \(heard)")
    }

    @Test("after the sender pauses the playout goes idle (the clock may stop) and the next packet starts it again")
    func idleAfterPause() {
        var playout = AudioPlayout(decoder: G711Codec(law: .muLaw), frameDuration: .milliseconds(20))
        #expect(playout.isIdle)
        let silence = [UInt8](repeating: 0xFF, count: 160)
        for i in 0..<5 {
            playout.packetReceived(ssrc: 1, sequenceNumber: UInt16(i), timestamp: UInt32(i * 160), arrival: .milliseconds(20 * i), payload: silence)
        }
        #expect(!playout.isIdle)
        var now = Duration.milliseconds(20)
        while !playout.isIdle, now < .seconds(2) {
            _ = playout.tick(now: now)
            now += .milliseconds(20)
        }
        #expect(playout.isIdle && now < .seconds(1), "idle after the five frames and maximumConcealment: \(playout.buffer.statistics)")
        playout.packetReceived(ssrc: 1, sequenceNumber: 100, timestamp: 100 * 160, arrival: now, payload: silence)
        #expect(!playout.isIdle)
    }

    @Test("a late tick plays every frame due, up to maxCatchUpFrames, then skips ahead")
    func catchUp() {
        var playout = AudioPlayout(decoder: G711Codec(law: .muLaw), frameDuration: .milliseconds(20))
        let silence = [UInt8](repeating: 0xFF, count: 160)
        for i in 0..<40 {
            playout.packetReceived(ssrc: 1, sequenceNumber: UInt16(i), timestamp: UInt32(i * 160), arrival: .milliseconds(20 * i), payload: silence)
        }
        _ = playout.tick(now: .milliseconds(100))
        let before = playout.buffer.statistics.played + playout.buffer.statistics.concealed + playout.buffer.statistics.insertedForDelay
        _ = playout.tick(now: .milliseconds(100 + 20 * 5))  // five frames late
        let after = playout.buffer.statistics.played + playout.buffer.statistics.concealed + playout.buffer.statistics.insertedForDelay
        #expect(after - before >= 5 && after - before <= 6, "\(playout.buffer.statistics)")
        _ = playout.tick(now: .seconds(10))
        let capped = playout.buffer.statistics.played + playout.buffer.statistics.concealed + playout.buffer.statistics.insertedForDelay
        #expect(capped - after <= AudioPlayout.maxCatchUpFrames, "\(playout.buffer.statistics)")
    }
}
