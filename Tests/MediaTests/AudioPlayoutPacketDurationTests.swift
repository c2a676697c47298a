import Media
import Testing

/// The peer packetizes at its own ptime (its `a=ptime` says what it wants to RECEIVE, RFC 8866
/// §6.4), so the playout takes its frame duration from the packets, not from the negotiated ptime.
@Suite("AudioPlayout: frame duration from the peer's packets")
struct AudioPlayoutPacketDurationTests {
    /// In-band keys in packets of `framesPerPacket` × 20 ms, at `negotiated` ms playout.
    static func heard(framesPerPacket: Int, negotiated: Int) -> (heard: String, playout: AudioPlayout) {
        let frames = AudioPlayoutTests.keyedFrames(AudioPlayoutTests.keys)
        var packets: [[UInt8]] = []
        for start in stride(from: 0, to: frames.count - framesPerPacket + 1, by: framesPerPacket) {
            packets.append(frames[start..<(start + framesPerPacket)].flatMap { $0 })
        }
        let step = 20 * framesPerPacket
        var playout = AudioPlayout(decoder: G711Codec(law: .muLaw), frameDuration: .milliseconds(negotiated))
        var heard = ""
        var next = 0
        var now = Duration.milliseconds(3)
        while now < .milliseconds(step * (packets.count + 20)) {
            while next < packets.count, .milliseconds(step * next) <= now {
                playout.packetReceived(ssrc: 9, sequenceNumber: UInt16(next), timestamp: UInt32(next * packets[next].count), arrival: .milliseconds(step * next),
                                       payload: packets[next])
                next += 1
            }
            heard += playout.tick(now: now).map { String($0.digit.character) }.joined()
            now += .milliseconds(10)
        }
        return (heard, playout)
    }

    @Test("40 ms packets after we agreed 20, 20 ms packets after we agreed 40: every key heard, every packet played",
          arguments: [(2, 20), (1, 40), (3, 20)])
    func keysAtThePeersPacketization(framesPerPacket: Int, negotiated: Int) {
        let (heard, playout) = Self.heard(framesPerPacket: framesPerPacket, negotiated: negotiated)
        #expect(heard == AudioPlayoutTests.keys, "\(playout.buffer.statistics)")
        #expect(playout.frameDuration == .milliseconds(20 * framesPerPacket))
        let statistics = playout.buffer.statistics
        #expect(statistics.played >= statistics.received - 2, "every packet played as one frame: \(statistics)")
        #expect(statistics.concealed * 4 < statistics.played, "\(statistics)")
    }
}
