// MediaStatistics: how punctually the gateway's RTP left, over all calls — the number behind
// "concurrent calls with no late packet" — and what came in: packets received, lost (RFC 3550
// A.3) and from strangers, and each session's interarrival jitter (A.8). Each MediaSession counts
// on its own event loop and adds its counts here once, when it closes; open and peak sessions are
// counted as sessions open. `GatewayMetrics` exports the totals to Prometheus.

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
    private let received = Atomic<Int>(0)
    private let lost = Atomic<Int>(0)
    private let strangers = Atomic<Int>(0)
    private let srtpSessions = Atomic<Int>(0)
    private let srtpRejected = Atomic<Int>(0)
    private let srtcpRejected = Atomic<Int>(0)
    private let closedSessions = Atomic<Int>(0)
    /// Jitter of each closed session (seconds), until `drainJitter()` takes them; bounded.
    private let jitters = Mutex<[Double]>([])
    static let jitterBacklog = 10_000
    /// Round-trip times from the peers' RTCP reports (seconds), until `drainRoundTrips()`; bounded.
    private let roundTrips = Mutex<[Double]>([])
    private let reportsSent = Atomic<Int>(0)
    private let reportsReceived = Atomic<Int>(0)

    /// Fresh counters.
    public init() {}

    /// A snapshot.
    public struct Snapshot: Sendable, Equatable, CustomStringConvertible {
        /// Audio packets sent by closed sessions.
        public var packetsSent: Int
        /// Sent more than `lateAfterMicroseconds` after their deadline.
        public var latePackets: Int
        /// Not sent at all: the pacer dropped them, being too far behind (RTPPacer.maxBurst).
        public var skippedPackets: Int
        /// The latest any packet left after its deadline, in microseconds.
        public var maxLatenessMicroseconds: Int
        /// Media sessions open now, and the most at once.
        public var openSessions: Int
        /// The most media sessions open at once.
        public var peakSessions: Int
        /// Sessions closed.
        public var closedSessions: Int = 0
        /// RTP packets accepted from the negotiated source, lost on the way (RFC 3550 A.3, by
        /// sequence number), and dropped as coming from a stranger.
        public var packetsReceived: Int = 0
        /// RTP packets lost on the way (RFC 3550 A.3).
        public var packetsLost: Int = 0
        /// RTP packets dropped as coming from a stranger (not the negotiated source).
        public var strangerPackets: Int = 0
        /// Closed sessions whose media was SRTP (RFC 3711).
        public var srtpSessions: Int = 0
        /// Datagrams dropped because SRTP authentication or the replay check failed.
        public var srtpRejectedPackets: Int = 0
        /// RTCP datagrams dropped because SRTCP authentication or the replay check failed (or they
        /// were plain RTCP on an SRTP call).
        public var srtcpRejectedPackets: Int = 0
        /// RTCP compound packets sent and received from the peer (RFC 3550 §6.4).
        public var rtcpReportsSent: Int = 0
        /// RTCP compound packets received from the call's peer.
        public var rtcpReportsReceived: Int = 0

        /// The counters as one log line of `key=value` pairs.
        public var description: String {
            "packets_sent=\(packetsSent) late=\(latePackets) skipped=\(skippedPackets) max_lateness_ms=\(Double(maxLatenessMicroseconds) / 1_000) peak_sessions=\(peakSessions)"
                + " received=\(packetsReceived) lost=\(packetsLost) strangers=\(strangerPackets) srtp_sessions=\(srtpSessions) srtp_rejected=\(srtpRejectedPackets) srtcp_rejected=\(srtcpRejectedPackets)"
        }
    }

    /// The counters now.
    public var snapshot: Snapshot {
        Snapshot(packetsSent: sent.load(ordering: .relaxed), latePackets: late.load(ordering: .relaxed), skippedPackets: skipped.load(ordering: .relaxed),
                 maxLatenessMicroseconds: maxLateness.load(ordering: .relaxed), openSessions: sessions.load(ordering: .relaxed),
                 peakSessions: peakSessions.load(ordering: .relaxed), closedSessions: closedSessions.load(ordering: .relaxed),
                 packetsReceived: received.load(ordering: .relaxed), packetsLost: lost.load(ordering: .relaxed),
                 strangerPackets: strangers.load(ordering: .relaxed), srtpSessions: srtpSessions.load(ordering: .relaxed),
                 srtpRejectedPackets: srtpRejected.load(ordering: .relaxed), srtcpRejectedPackets: srtcpRejected.load(ordering: .relaxed),
                 rtcpReportsSent: reportsSent.load(ordering: .relaxed), rtcpReportsReceived: reportsReceived.load(ordering: .relaxed))
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

    /// One session's counts, kept by the session on its event loop (no shared writes per packet).
    struct SessionCounts {
        var packetsSent = 0
        var latePackets = 0
        var skippedPackets = 0
        var maxLatenessMicroseconds = 0
        var packetsReceived = 0
        var packetsLost = 0
        var strangerPackets = 0
        var srtp = false
        var srtpRejectedPackets = 0
        var srtcpRejectedPackets = 0
        /// Interarrival jitter in seconds; nil when too few packets came to tell.
        var jitterSeconds: Double?
        /// Round-trip times measured from the peer's reception reports, seconds.
        var roundTripSeconds: [Double] = []
        /// RTCP compound packets sent, and received from the peer.
        var rtcpReportsSent = 0
        var rtcpReportsReceived = 0

        /// One pacer tick: `sent` packets, the first `lateness` after its deadline, `skipped` dropped.
        mutating func tick(sent: Int, firstLatenessMicroseconds lateness: Int, skipped: Int) {
            skippedPackets += skipped
            guard sent > 0 else { return }
            // Packets of one burst are 20 ms apart in deadline: count each that is over the line.
            if lateness > MediaStatistics.lateAfterMicroseconds {
                latePackets += min(sent, (lateness - MediaStatistics.lateAfterMicroseconds) / 20_000 + 1)
            }
            maxLatenessMicroseconds = max(maxLatenessMicroseconds, lateness)
        }
    }

    /// A session closed: its counts join the totals.
    func sessionClosed(_ counts: SessionCounts) {
        sessions.wrappingSubtract(1, ordering: .relaxed)
        closedSessions.wrappingAdd(1, ordering: .relaxed)
        received.wrappingAdd(counts.packetsReceived, ordering: .relaxed)
        lost.wrappingAdd(max(0, counts.packetsLost), ordering: .relaxed)
        strangers.wrappingAdd(counts.strangerPackets, ordering: .relaxed)
        if counts.srtp { srtpSessions.wrappingAdd(1, ordering: .relaxed) }
        srtpRejected.wrappingAdd(counts.srtpRejectedPackets, ordering: .relaxed)
        srtcpRejected.wrappingAdd(counts.srtcpRejectedPackets, ordering: .relaxed)
        reportsSent.wrappingAdd(counts.rtcpReportsSent, ordering: .relaxed)
        reportsReceived.wrappingAdd(counts.rtcpReportsReceived, ordering: .relaxed)
        if !counts.roundTripSeconds.isEmpty {
            roundTrips.withLock { $0 += counts.roundTripSeconds.prefix(max(0, Self.jitterBacklog - $0.count)) }
        }
        if let jitter = counts.jitterSeconds {
            jitters.withLock { if $0.count < Self.jitterBacklog { $0.append(jitter) } }
        }
        sent.wrappingAdd(counts.packetsSent, ordering: .relaxed)
        late.wrappingAdd(counts.latePackets, ordering: .relaxed)
        skipped.wrappingAdd(counts.skippedPackets, ordering: .relaxed)
        var current = maxLateness.load(ordering: .relaxed)
        while counts.maxLatenessMicroseconds > current {
            let (exchanged, original) = maxLateness.compareExchange(expected: current, desired: counts.maxLatenessMicroseconds, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    /// The round-trip times reported since the last call, taken.
    public func drainRoundTrips() -> [Double] {
        roundTrips.withLock { samples in
            defer { samples = [] }
            return samples
        }
    }

    /// The jitter of each session closed since the last call, taken.
    public func drainJitter() -> [Double] {
        jitters.withLock { samples in
            defer { samples = [] }
            return samples
        }
    }
}
