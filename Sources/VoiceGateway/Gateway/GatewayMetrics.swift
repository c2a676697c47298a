// GatewayMetrics: the voice gateway's counters in Prometheus form. The gateway counts in its own
// cheap structures (MediaStatistics per closed RTP session, CallStatistics per call); `collect()`,
// run before each scrape, brings the registry's counters up to them by the difference since the
// last scrape, so the hot paths never touch the registry. In `verigate serve` the registry is the
// core's (one /metrics); `verigate gateway --metrics-address` serves its own.

import Prometheus
import Synchronization

/// Exports a gateway's `CallStatistics` and `MediaStatistics` to a Prometheus registry.
public final class GatewayMetrics: Sendable {
    /// The registry the gateway's `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    let calls: CallStatistics
    let media: MediaStatistics?
    let registrations: [TrunkRegistration]
    let trunks: TrunkMonitor?
    /// What each counter (name and labels) showed at the last collection.
    private let exported = Mutex<[String: Int]>([:])
    /// Each metric's HELP text.
    static let help: [String: String] = [
        "verigate_gateway_inbound_calls_total": "Calls to a system number, by what became of them",
        "verigate_gateway_originated_calls_total": "Calls placed for the core (voice_call, dtmf_callout)",
        "verigate_gateway_calls_ended_total": "Calls reported ended to the core, by reason",
        "verigate_rtp_sessions": "RTP sessions open",
        "verigate_rtp_sessions_closed_total": "RTP sessions closed",
        "verigate_rtp_packets_sent_total": "RTP audio packets sent",
        "verigate_rtp_packets_late_total": "RTP packets sent more than one packet time after their deadline",
        "verigate_rtp_packets_skipped_total": "RTP packets not sent: the pacer was too far behind",
        "verigate_rtp_packets_received_total": "RTP packets accepted from the negotiated source",
        "verigate_rtp_packets_lost_total": "RTP packets lost on the way in (RFC 3550 A.3, by sequence number)",
        "verigate_rtp_stranger_packets_total": "RTP packets dropped as coming from an address other than the negotiated one",
        "verigate_srtp_sessions_total": "Media sessions (closed) whose RTP was SRTP (RFC 3711)",
        "verigate_srtp_rejected_packets_total": "Datagrams dropped because SRTP authentication or the replay check failed",
        "verigate_srtcp_rejected_packets_total": "RTCP datagrams dropped because SRTCP authentication or the replay check failed (or plain RTCP on an SRTP call)",
        "verigate_rtp_jitter_seconds": "Interarrival jitter of each RTP session at its end (RFC 3550 A.8)",
        "verigate_rtp_round_trip_seconds": "Round-trip time from the peer's RTCP reception reports (RFC 3550 §6.4.1: A - LSR - DLSR), each report",
        "verigate_rtcp_reports_sent_total": "RTCP compound packets sent (SR or RR, RFC 3550 §6.4)",
        "verigate_rtcp_reports_received_total": "RTCP compound packets received from the call's peer",
        "verigate_trunk_registered": "1 while the trunk's registrar holds our binding (register = yes, RFC 3261 §10), else 0",
        "verigate_trunk_up": "Whether a trunk with qualify answers its OPTIONS pings (1) or is down and skipped by routing (0)",
    ]
    /// The full `name` with its HELP text (the unit is part of the name already).
    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }

    /// Buckets of the per-call interarrival jitter histogram, seconds.
    static let jitterBuckets: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2]
    /// Buckets of the RTCP round-trip time histogram, seconds.
    static let roundTripBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2]

    /// Registers the call counters, the registration gauge of each `register = yes` trunk, with
    /// `trunks` a `verigate_trunk_up` gauge per trunk with qualify and, when the gateway answers
    /// calls, the media counters on `registry`.
    public init(registry: PrometheusCollectorRegistry, calls: CallStatistics, media: MediaStatistics?, registrations: [TrunkRegistration] = [],
                trunks: TrunkMonitor? = nil) {
        self.registry = registry
        self.registrations = registrations
        self.calls = calls
        self.media = media
        self.trunks = trunks
    }

    /// Brings the registry up to the gateway's counts.
    public func collect() {
        for (kind, count) in calls.inboundCalls {
            counter("verigate_gateway_inbound_calls_total", [("result", kind.rawValue)], count)
        }
        counter("verigate_gateway_originated_calls_total", [], calls.originatedCalls)
        for (reason, count) in calls.endedCalls {
            counter("verigate_gateway_calls_ended_total", [("reason", reason.rawValue)], count)
        }
        for registration in registrations {
            registry.makeGauge(descriptor: Self.descriptor("verigate_trunk_registered"), labels: [("trunk", registration.trunk.name)])
                .set(Double(registration.isRegistered ? 1 : 0))
        }
        for (trunk, state) in trunks?.qualifiedTrunks ?? [:] {
            registry.makeGauge(descriptor: Self.descriptor("verigate_trunk_up"), labels: [("trunk", trunk)]).set(Double(state.isUp ? 1 : 0))
        }
        guard let media else { return }
        let s = media.snapshot
        registry.makeGauge(descriptor: Self.descriptor("verigate_rtp_sessions"), labels: []).set(Double(s.openSessions))
        counter("verigate_rtp_sessions_closed_total", [], s.closedSessions)
        counter("verigate_rtp_packets_sent_total", [], s.packetsSent)
        counter("verigate_rtp_packets_late_total", [], s.latePackets)
        counter("verigate_rtp_packets_skipped_total", [], s.skippedPackets)
        counter("verigate_rtp_packets_received_total", [], s.packetsReceived)
        counter("verigate_rtp_packets_lost_total", [], s.packetsLost)
        counter("verigate_rtp_stranger_packets_total", [], s.strangerPackets)
        counter("verigate_srtp_sessions_total", [], s.srtpSessions)
        counter("verigate_srtp_rejected_packets_total", [], s.srtpRejectedPackets)
        counter("verigate_srtcp_rejected_packets_total", [], s.srtcpRejectedPackets)
        let jitter = registry.makeValueHistogram(
            descriptor: Self.descriptor("verigate_rtp_jitter_seconds"), labels: [], buckets: Self.jitterBuckets)
        for sample in media.drainJitter() { jitter.record(sample) }
        counter("verigate_rtcp_reports_sent_total", [], s.rtcpReportsSent)
        counter("verigate_rtcp_reports_received_total", [], s.rtcpReportsReceived)
        let roundTrip = registry.makeValueHistogram(
            descriptor: Self.descriptor("verigate_rtp_round_trip_seconds"), labels: [], buckets: Self.roundTripBuckets)
        for sample in media.drainRoundTrips() { roundTrip.record(sample) }
    }

    /// Raises counter `name{labels}` to `value` (counters only grow; a smaller value is ignored).
    private func counter(_ name: String, _ labels: [(String, String)], _ value: Int) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = exported.withLock { last -> Int in
            let delta = value - (last[key] ?? 0)
            if delta > 0 { last[key] = value }
            return delta
        }
        let counter = registry.makeCounter(descriptor: Self.descriptor(name), labels: labels)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }
}
