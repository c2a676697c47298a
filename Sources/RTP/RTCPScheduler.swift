/// When to send the next RTCP compound packet of one session (RFC 3550 §6.2, §6.3, the algorithm
/// of Appendix A.7 with timer reconsideration).
///
/// Interval: the RTCP bandwidth (5 % of the session bandwidth, §6.2) shared by the members, a
/// quarter of it for senders when they are under a quarter of the members (§6.3.1), times the
/// average compound size, at least the fixed minimum of 5 s (halved before the first report,
/// §6.2). The reduced minimum of §6.2 (360 / session kbit/s) is not used: a verification call
/// lasts seconds, and 5 s still gives a report or two per call plus the BYE. Each interval is
/// randomized over 0.5…1.5 and divided by e − 3/2 (§6.3.1) so members do not synchronize.
///
/// Pure value: time and the random draws are inputs, so a manual clock tests it.
public struct RTCPScheduler: Equatable, Sendable {
    /// The fixed minimum interval (RFC 3550 §6.2).
    public static let minimumInterval: Duration = .seconds(5)
    /// e − 3/2, the compensation for timer reconsideration (RFC 3550 §6.3.1, A.7).
    static let compensation = 2.718_281_828_459_045 - 1.5

    /// What to do at a timer expiry.
    public enum Decision: Equatable, Sendable {
        /// Send a report now; the next expiry is at `next`.
        case sendNow(next: Duration)
        /// Not yet (reconsideration moved the time later): wake up at `until`.
        case wait(until: Duration)
    }

    /// The session bandwidth in bits per second (the audio stream's, e.g. 64 000 + headers for G.711).
    public let sessionBandwidth: Double
    /// Session members (us and the peer in a call).
    public var members = 2
    /// Members that sent RTP in the last two intervals.
    public var senders = 1
    /// Average compound RTCP packet size, octets, with UDP and IP headers (A.7 `avg_rtcp_size`).
    public private(set) var averageSize: Double = 100
    /// Whether a report was sent yet (A.7 `initial`).
    public private(set) var initial = true
    /// When the last report was sent (A.7 `tp`).
    public private(set) var lastSent: Duration
    /// The next scheduled expiry (A.7 `tn`).
    public private(set) var nextExpiry: Duration

    /// A scheduler for a session starting at `now`; `random` in 0..<1 randomizes the first interval.
    public init(sessionBandwidth: Double, now: Duration, random: Double) {
        self.sessionBandwidth = sessionBandwidth
        lastSent = now
        nextExpiry = now
        nextExpiry = now + interval(weSent: false, random: random)
    }

    /// The randomized interval (A.7 `rtcp_interval`); `random` in 0..<1.
    public func interval(weSent: Bool, random: Double) -> Duration {
        let rtcpBandwidth = sessionBandwidth * 0.05 / 8  // octets per second
        var n = Double(max(1, members))
        var bandwidth = rtcpBandwidth
        let senderShare = 0.25
        if Double(senders) <= Double(members) * senderShare {
            if weSent {
                bandwidth *= senderShare
                n = Double(max(1, senders))
            } else {
                bandwidth *= 1 - senderShare
                n -= Double(senders)
            }
        }
        let minimum = initial ? 2.5 : 5.0
        var seconds = max(averageSize * n / max(bandwidth, 1e-9), minimum)
        seconds *= random + 0.5
        seconds /= Self.compensation
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// The timer expired at `now` (A.7 `OnExpire` for a report): send now, or wait longer.
    public mutating func expired(now: Duration, weSent: Bool, random: Double) -> Decision {
        let candidate = lastSent + interval(weSent: weSent, random: random)
        guard candidate <= now else {
            nextExpiry = candidate
            return .wait(until: candidate)
        }
        return .sendNow(next: candidate)
    }

    /// A compound packet of `octets` (RTCP bytes; 28 of UDP/IPv4 header are added) was sent at
    /// `now`; returns the next expiry (A.7: `avg_rtcp_size`, `tp`, `tn`).
    @discardableResult
    public mutating func sent(octets: Int, now: Duration, weSent: Bool, random: Double) -> Duration {
        averageSize = Double(octets + 28) / 16 + averageSize * 15 / 16
        initial = false
        lastSent = now
        nextExpiry = now + interval(weSent: weSent, random: random)
        return nextExpiry
    }
}

/// NTP time (RFC 5905 §6: seconds since 1900 in 32.32 fixed point), as RTCP sender reports carry it.
public enum NTPTime {
    /// Seconds from 1900-01-01 to 1970-01-01.
    public static let unixOffset: UInt64 = 2_208_988_800

    /// The 64-bit NTP timestamp of a Unix time in nanoseconds.
    public static func timestamp(unixNanoseconds: UInt64) -> UInt64 {
        let seconds = unixNanoseconds / 1_000_000_000 + unixOffset
        let fraction = (unixNanoseconds % 1_000_000_000) << 32 / 1_000_000_000
        return seconds << 32 | fraction
    }

    /// The middle 32 bits (16.16 seconds) of an NTP timestamp: LSR and the round-trip arithmetic (RFC 3550 §6.4.1).
    public static func middle(_ timestamp: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: timestamp >> 16) }

    /// The round-trip time from a report block received at `arrival` (middle 32 bits, our clock):
    /// A − LSR − DLSR (RFC 3550 §6.4.1, Figure 2). Nil when the block echoes no SR of ours (LSR 0)
    /// or the result is negative (clocks, or a forged block).
    public static func roundTrip(arrival: UInt32, lastSR: UInt32, delaySinceLastSR: UInt32) -> Duration? {
        guard lastSR != 0 else { return nil }
        let units = Int64(Int32(bitPattern: arrival &- lastSR &- delaySinceLastSR))
        guard units >= 0 else { return nil }
        return .nanoseconds(units * 1_000_000_000 / 65_536)
    }
}
