import Media
import Testing

/// Scripted arrival patterns through `JitterBuffer`, with a 20 ms playout clock.
@Suite struct JitterBufferTests {
    struct Arrival {
        var seq: UInt16
        var ts: UInt32
        var at: Duration
        var ssrc: UInt32 = 1
        var payload: Int
    }

    struct Run {
        var outputs: [JitterBuffer<Int>.Output] = []
        var verdicts: [JitterBuffer<Int>.PacketVerdict] = []
        var buffer: JitterBuffer<Int>
        var maxBuffered = 0
        var maxTarget = Duration.zero
        var played: [Int] { outputs.compactMap { if case .frame(let p, _) = $0 { p } else { nil } } }
        var conceals: [JitterBuffer<Int>.Output] { outputs.filter { if case .conceal = $0 { true } else { false } } }
    }

    /// A steady sender: packet i at i·interval (+ jitter(i)), timestamp start + i·160.
    static func stream(count: Int, interval: Duration = .milliseconds(20), seq0: UInt16 = 65000, ts0: UInt32 = 4_294_900_000, ssrc: UInt32 = 1, offset: Duration = .zero, jitter: (Int) -> Duration = { _ in .zero }) -> [Arrival] {
        (0..<count).map { i in
            Arrival(seq: seq0 &+ UInt16(truncatingIfNeeded: i), ts: ts0 &+ UInt32(i) * 160, at: offset + interval * i + jitter(i), ssrc: ssrc, payload: i)
        }
    }

    /// Feeds arrivals in arrival-time order and pulls every 20 ms (phase 7 ms) until `until`.
    static func run(_ arrivals: [Arrival], until: Duration, configuration: JitterBuffer<Int>.Configuration = .init()) -> Run {
        let sorted = arrivals.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        var run = Run(buffer: JitterBuffer(configuration: configuration))
        var next = 0
        var now = Duration.milliseconds(7)
        // Pull until `until`, or until every packet was delivered and the buffer ran empty.
        while now <= until, next < sorted.count || run.buffer.bufferedFrames > 0 {
            while next < sorted.count, sorted[next].at <= now {
                let a = sorted[next]
                run.verdicts.append(run.buffer.packetReceived(ssrc: a.ssrc, sequenceNumber: a.seq, timestamp: a.ts, arrival: a.at, payload: a.payload))
                next += 1
            }
            run.maxBuffered = max(run.maxBuffered, run.buffer.bufferedFrames)
            run.maxTarget = max(run.maxTarget, run.buffer.targetDelay)
            run.outputs.append(run.buffer.nextFrame(now: now))
            now += .milliseconds(20)
        }
        return run
    }

    @Test func steadyStreamPlaysEveryFrameInOrderAtMinimumDelay() {
        let run = Self.run(Self.stream(count: 200), until: .seconds(5))
        #expect(run.played == Array(0..<200))
        #expect(run.conceals.isEmpty)
        #expect(run.buffer.targetDelay == .milliseconds(20))
        #expect(run.verdicts.first == .resynchronized(.start))
        #expect(run.buffer.statistics.late == 0)
    }

    @Test func lossIsConcealedWithNextFrameForFEC() {
        let arrivals = Self.stream(count: 100).filter { ![10, 11, 50].contains($0.payload) }
        let run = Self.run(arrivals, until: .seconds(3))
        #expect(run.played == Array(0..<100).filter { ![10, 11, 50].contains($0) })
        #expect(run.buffer.statistics.concealed == 3)
        let ts0: UInt32 = 4_294_900_000
        #expect(run.conceals == [.conceal(timestamp: ts0 &+ 1600, next: nil), .conceal(timestamp: ts0 &+ 1760, next: 12), .conceal(timestamp: ts0 &+ 8000, next: 51)])
    }

    @Test func reorderingIsUndone() {
        // Every 4th packet arrives 15 ms late, after its successor.
        let arrivals = Self.stream(count: 300) { $0 % 4 == 1 ? .milliseconds(25) : .zero }
        let run = Self.run(arrivals, until: .seconds(7))
        #expect(run.played == Array(0..<300))
        #expect(run.buffer.statistics.late == 0)
        #expect(run.buffer.targetDelay >= .milliseconds(25) && run.buffer.targetDelay <= .milliseconds(60))
    }

    @Test func duplicatesAreDropped() {
        let base = Self.stream(count: 100)
        let arrivals = base + base.filter { $0.payload % 10 == 3 }.map { var a = $0; a.at += .milliseconds(2); return a }
        let run = Self.run(arrivals, until: .seconds(3))
        #expect(run.played == Array(0..<100))
        #expect(run.buffer.statistics.duplicates == 10)
        #expect(run.verdicts.filter { $0 == .duplicate }.count == 10)
    }

    @Test func burstsRaiseTheTargetWithinLimits() {
        // Every 50th packet stalls the network: it and the next 5 arrive together 100 ms late.
        let arrivals = Self.stream(count: 1000) { i in
            let k = i % 50
            return k < 6 ? .milliseconds(100 - 20 * k) : .zero
        }
        let run = Self.run(arrivals, until: .seconds(21))
        #expect(run.buffer.targetDelay > .milliseconds(100))
        #expect(run.buffer.targetDelay <= .milliseconds(200))
        // Only the first burst (before the buffer learned) may lose frames.
        let lateAfterLearning = run.verdicts.suffix(900).filter { $0 == .late }.count
        #expect(lateAfterLearning == 0)
        #expect(run.played.count >= 990)
        #expect(run.played == run.played.sorted())
    }

    @Test func targetIsCappedAndVeryLatePacketsDropped() {
        // A packet 500 ms late is beyond the 200 ms cap: dropped as late, its slot concealed.
        let arrivals = Self.stream(count: 200) { $0 == 100 ? .milliseconds(500) : .zero }
        let run = Self.run(arrivals, until: .seconds(5))
        #expect(run.maxTarget == .milliseconds(200))
        #expect(run.verdicts.contains(.late))
        #expect(run.buffer.statistics.late == 1)
        #expect(!run.played.contains(100))
        #expect(run.played.count == 199)
    }

    @Test func timestampJumpResynchronizes() {
        var arrivals = Self.stream(count: 100)
        // Sequence numbers continue, timestamps jump 10 s ahead (a sender that restarted its clock).
        arrivals += Self.stream(count: 100, seq0: 65100, ts0: 4_294_900_000 &+ 80_000 &+ 16_000, offset: .seconds(2)).map { var a = $0; a.payload += 100; return a }
        let run = Self.run(arrivals, until: .seconds(5))
        #expect(run.verdicts.contains(.resynchronized(.timestampJump)))
        #expect(run.played == Array(0..<200))
        #expect(run.buffer.statistics.late == 0)
    }

    @Test func ssrcChangeResynchronizes() {
        var arrivals = Self.stream(count: 100)
        arrivals += Self.stream(count: 100, seq0: 7, ts0: 123, ssrc: 2, offset: .seconds(2)).map { var a = $0; a.payload += 100; return a }
        let run = Self.run(arrivals, until: .seconds(5))
        #expect(run.verdicts.filter { $0 == .resynchronized(.ssrcChanged) }.count == 1)
        #expect(run.played == Array(0..<200))
        #expect(run.buffer.statistics.resyncs == 2)
    }

    @Test func pauseThenResumeStartsAgain() {
        var arrivals = Self.stream(count: 50)
        // Silence suppression: 3 s without packets, then timestamps continue as if time had passed
        // but the sequence numbers are contiguous.
        arrivals += Self.stream(count: 50, seq0: 65050, ts0: 4_294_900_000 &+ 50 * 160 &+ 24_000, offset: .seconds(4)).map { var a = $0; a.payload += 50; return a }
        let run = Self.run(arrivals, until: .seconds(6))
        #expect(run.played == Array(0..<100))
        #expect(run.outputs.contains(.empty))
        #expect(run.buffer.statistics.concealed <= 10)
    }

    @Test(arguments: [0.99, 1.01])
    func senderClockDriftIsAbsorbed(rate: Double) {
        // Packets carry 20 ms of audio but arrive every 20 ms × rate of our clock for 60 s.
        let interval = Duration.microseconds(Int64((20_000 * rate).rounded()))
        let run = Self.run(Self.stream(count: 3000, interval: interval), until: .seconds(61))
        let stats = run.buffer.statistics
        #expect(stats.late == 0)
        #expect(run.maxBuffered <= 12)
        if rate < 1 {  // sender fast: about 30 frames too many over 60 s must be dropped
            #expect((20...45).contains(stats.droppedForDelay))
            #expect(stats.concealed == 0)
        } else {  // sender slow: about 30 frames must be inserted
            #expect((20...45).contains(stats.insertedForDelay + stats.concealed))
            #expect(stats.concealed <= 3)
        }
        #expect(run.played == run.played.sorted())
        #expect(run.played.count >= 2950)
    }
}
