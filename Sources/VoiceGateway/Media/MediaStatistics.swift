// MediaStatistics: how punctually the gateway's RTP left, over all calls — the number behind
// "concurrent calls with no late packet". Atomic counters shared by every MediaSession.

import Synchronization

/// Gateway-wide RTP send counters.
public final class MediaStatistics: Sendable {
    /// A packet is late when sent more than this after its deadline (one 20 ms packet time: a
    /// receiver's jitter buffer of one packet would have played silence instead).
    public static let lateAfterMicroseconds = 20_000

    private let sent = Atomic<Int>(0)
    private let late = Atomic<Int>(0)
    private let skipped = Atomic<Int>(0)
    private let maxLateness = Atomic<Int>(0)
    private let sessions = Atomic<Int>(0)
    private let peakSessions = Atomic<Int>(0)

    /// Fresh counters.
    public init() {}

    /// A snapshot.
    public struct Snapshot: Sendable, Equatable, CustomStringConvertible {
        /// Audio packets sent.
        public var packetsSent: Int
        /// Sent more than `lateAfterMicroseconds` after their deadline.
        public var latePackets: Int
        /// Not sent at all: the pacer dropped them, being too far behind (RTPPacer.maxBurst).
        public var skippedPackets: Int
        /// The latest any packet left after its deadline, in microseconds.
        public var maxLatenessMicroseconds: Int
        /// Media sessions open now, and the most at once.
        public var openSessions: Int
        public var peakSessions: Int

        public var description: String {
            "packets_sent=\(packetsSent) late=\(latePackets) skipped=\(skippedPackets) max_lateness_ms=\(Double(maxLatenessMicroseconds) / 1_000) peak_sessions=\(peakSessions)"
        }
    }

    /// The counters now.
    public var snapshot: Snapshot {
        Snapshot(packetsSent: sent.load(ordering: .relaxed), latePackets: late.load(ordering: .relaxed), skippedPackets: skipped.load(ordering: .relaxed),
                 maxLatenessMicroseconds: maxLateness.load(ordering: .relaxed), openSessions: sessions.load(ordering: .relaxed),
                 peakSessions: peakSessions.load(ordering: .relaxed))
    }

    func sessionOpened() {
        let now = sessions.wrappingAdd(1, ordering: .relaxed).newValue
        var peak = peakSessions.load(ordering: .relaxed)
        while now > peak {
            let (exchanged, original) = peakSessions.compareExchange(expected: peak, desired: now, ordering: .relaxed)
            if exchanged { break }
            peak = original
        }
    }

    func sessionClosed() { sessions.wrappingSubtract(1, ordering: .relaxed) }

    /// One tick's sends: `count` packets, the first `latenessMicroseconds` after its deadline.
    func sent(count: Int, firstLatenessMicroseconds lateness: Int, skipped skippedCount: Int) {
        if count > 0 { sent.wrappingAdd(count, ordering: .relaxed) }
        if skippedCount > 0 { skipped.wrappingAdd(skippedCount, ordering: .relaxed) }
        // Packets of one burst are 20 ms apart in deadline: count each that is over the line.
        if lateness > Self.lateAfterMicroseconds, count > 0 {
            let overdue = min(count, (lateness - Self.lateAfterMicroseconds) / 20_000 + 1)
            late.wrappingAdd(overdue, ordering: .relaxed)
        }
        var current = maxLateness.load(ordering: .relaxed)
        while lateness > current {
            let (exchanged, original) = maxLateness.compareExchange(expected: current, desired: lateness, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }
}
