import Testing

@testable import RTP

/// RTCPScheduler on a manual clock (RFC 3550 §6.2, §6.3, A.7) and the NTP/round-trip arithmetic (§6.4.1).
@Suite("RTCP scheduling and round-trip time")
struct RTCPSchedulerTests {
    private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    @Test("the first report comes after half the 5 s minimum, randomized over 0.5…1.5 and divided by e − 3/2")
    func firstInterval() {
        for random in [0.0, 0.5, 0.999] {
            let scheduler = RTCPScheduler(sessionBandwidth: 80_000, now: .seconds(100), random: random)
            let expected = 2.5 * (random + 0.5) / RTCPScheduler.compensation
            #expect(abs(seconds(scheduler.nextExpiry - .seconds(100)) - expected) < 1e-6)
        }
    }

    @Test("after a report the interval is the 5 s minimum (a two-party call's bandwidth share is far below it), randomized")
    func laterIntervals() {
        var scheduler = RTCPScheduler(sessionBandwidth: 80_000, now: .zero, random: 0.5)
        let first = scheduler.nextExpiry
        guard case .sendNow = scheduler.expired(now: first, weSent: true, random: 0.5) else {
            Issue.record("the first expiry sends")
            return
        }
        let next = scheduler.sent(octets: 80, now: first, weSent: true, random: 0.0)
        #expect(abs(seconds(next - first) - 5 * 0.5 / RTCPScheduler.compensation) < 1e-6)
        #expect(!scheduler.initial)
    }

    @Test("timer reconsideration (A.7): an expiry before last report + the recomputed interval waits instead of sending")
    func reconsideration() {
        var scheduler = RTCPScheduler(sessionBandwidth: 80_000, now: .zero, random: 0.0)
        _ = scheduler.sent(octets: 80, now: .seconds(1), weSent: false, random: 0.0)
        // 1 s later, with the largest random factor the interval is 5 × 1.5 / 1.218 s ≈ 6.16 s.
        let decision = scheduler.expired(now: .seconds(2), weSent: false, random: 0.999_999)
        guard case .wait(let until) = decision else {
            Issue.record("\(decision)")
            return
        }
        #expect(abs(seconds(until) - (1 + 5 * 1.499_999 / RTCPScheduler.compensation)) < 1e-5)
        guard case .sendNow = scheduler.expired(now: until, weSent: false, random: 0.999_999) else {
            Issue.record("at the reconsidered time it sends")
            return
        }
    }

    @Test("with many members the bandwidth share, not the minimum, sets the interval; senders get a quarter")
    func bandwidthShare() {
        var scheduler = RTCPScheduler(sessionBandwidth: 80_000, now: .zero, random: 0.5)
        _ = scheduler.sent(octets: 72, now: .zero, weSent: false, random: 0.5)
        scheduler.members = 1_000
        scheduler.senders = 1
        // RR side: 75 % of 500 B/s over 999 receivers × average size.
        let size = scheduler.averageSize
        let receiver = seconds(scheduler.interval(weSent: false, random: 0.5)) * RTCPScheduler.compensation
        #expect(abs(receiver - size * 999 / 375) < 1e-6)
        let sender = seconds(scheduler.interval(weSent: true, random: 0.5)) * RTCPScheduler.compensation
        #expect(abs(sender - max(size * 1 / 125, 5)) < 1e-6)
    }

    @Test("NTP timestamps: the Unix epoch is 2 208 988 800 s after 1900; half a second is 2^31")
    func ntp() {
        #expect(NTPTime.timestamp(unixNanoseconds: 0) == UInt64(2_208_988_800) << 32)
        #expect(NTPTime.timestamp(unixNanoseconds: 1_500_000_000) == (UInt64(2_208_988_801) << 32) | (UInt64(1) << 31))
        #expect(NTPTime.middle(0x0123_4567_89AB_CDEF) == 0x4567_89AB)
    }

    @Test("round trip A − LSR − DLSR (§6.4.1 Figure 2's numbers); no LSR or a negative result gives none")
    func roundTrip() {
        // RFC 3550 Figure 2: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.250 s) → 6.125 s.
        let rtt = NTPTime.roundTrip(arrival: 0xB710_8000, lastSR: 0xB705_2000, delaySinceLastSR: 0x0005_4000)
        #expect(rtt == .milliseconds(6_125))
        #expect(NTPTime.roundTrip(arrival: 0xB710_8000, lastSR: 0, delaySinceLastSR: 0) == nil)
        #expect(NTPTime.roundTrip(arrival: 0xB705_2000, lastSR: 0xB705_2000, delaySinceLastSR: 0x0001_0000) == nil)
    }
}
