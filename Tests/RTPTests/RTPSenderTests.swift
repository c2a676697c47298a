import TestSupport
import RTP
import Testing

@Suite struct RTPSenderTests {
    @Test func randomStartFromInjectedSource() {
        var a = SplitMix64(state: 1), b = SplitMix64(state: 1), c = SplitMix64(state: 2)
        let first = RTPSender(payloadType: 0, samplesPerPacket: 160, using: &a)
        let same = RTPSender(payloadType: 0, samplesPerPacket: 160, using: &b)
        let other = RTPSender(payloadType: 0, samplesPerPacket: 160, using: &c)
        #expect(first == same)
        #expect(first.ssrc != other.ssrc)
        #expect(first.timestamp != other.timestamp)
    }

    @Test func markerOnTalkspurtStartAndCounters() {
        var rng = SplitMix64(state: 3)
        var sender = RTPSender(payloadType: 8, samplesPerPacket: 160, using: &rng)
        let seq0 = sender.sequenceNumber, ts0 = sender.timestamp
        let h0 = sender.nextAudioHeader(payloadBytes: 160)
        let h1 = sender.nextAudioHeader(payloadBytes: 160)
        #expect(h0.marker && !h1.marker)
        #expect(h0.sequenceNumber == seq0 && h1.sequenceNumber == seq0 &+ 1)
        #expect(h0.timestamp == ts0 && h1.timestamp == ts0 &+ 160)
        #expect(h0.payloadType == 8 && h0.ssrc == sender.ssrc)
        sender.silence(frames: 5)
        let h2 = sender.nextAudioHeader(payloadBytes: 160)
        #expect(h2.marker)
        #expect(h2.sequenceNumber == seq0 &+ 2)
        #expect(h2.timestamp == ts0 &+ 160 * 7)
        sender.skip(frames: 2)
        let h3 = sender.nextAudioHeader(payloadBytes: 160)
        #expect(!h3.marker)
        #expect(h3.timestamp == ts0 &+ 160 * 10)
        let event = sender.eventHeader(payloadType: 101, timestamp: h3.timestamp, marker: true)
        #expect(event.sequenceNumber == seq0 &+ 4 && event.payloadType == 101 && event.timestamp == h3.timestamp)
        #expect(sender.packetCount == 5)
        #expect(sender.octetCount == 4 * 160 + 4)
    }

    @Test func sequenceAndTimestampWrap() {
        var rng = SplitMix64(state: 3)
        var sender = RTPSender(payloadType: 0, samplesPerPacket: 160, using: &rng)
        var previous = sender.nextAudioHeader(payloadBytes: 0)
        for _ in 0..<70_000 {
            let header = sender.nextAudioHeader(payloadBytes: 0)
            #expect(header.sequenceNumber == previous.sequenceNumber &+ 1)
            #expect(header.timestamp == previous.timestamp &+ 160)
            previous = header
        }
    }

    @Test func pacerSchedulesFromStartWithoutDrift() {
        let start = Duration.seconds(1000)
        var pacer = RTPPacer(start: start)
        var sent = 0
        var now = start
        // Wake-ups arrive late by a varying 0–7 ms; deadlines must stay on the 20 ms grid.
        for i in 0..<3000 {
            let decision = pacer.tick(now: now)
            sent += decision.send
            #expect(decision.skip == 0)
            #expect(decision.nextDeadline == start + .milliseconds(20) * sent)
            now = decision.nextDeadline + .microseconds((i * 1_337) % 7_000)
        }
        #expect(sent == 3000)
        #expect(pacer.deadline(ofPacket: 3000) == start + .seconds(60))
    }

    @Test func pacerEarlyWakeSendsNothingAndLateWakeBurstsThenSkips() {
        var pacer = RTPPacer(start: .zero, maxBurst: 3)
        #expect(pacer.tick(now: .milliseconds(-1)) == .init(send: 0, skip: 0, nextDeadline: .zero))
        #expect(pacer.tick(now: .zero) == .init(send: 1, skip: 0, nextDeadline: .milliseconds(20)))
        #expect(pacer.tick(now: .milliseconds(19)) == .init(send: 0, skip: 0, nextDeadline: .milliseconds(20)))
        #expect(pacer.tick(now: .milliseconds(65)) == .init(send: 3, skip: 0, nextDeadline: .milliseconds(80)))
        // A 200 ms stall: 10 packets due, 3 sent, 7 skipped; the grid is kept.
        #expect(pacer.tick(now: .milliseconds(279)) == .init(send: 3, skip: 7, nextDeadline: .milliseconds(280)))
        #expect(pacer.skippedPackets == 7)
        #expect(pacer.nextPacket == 14)
    }
}
