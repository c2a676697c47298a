// CallStatistics: what the gateway did with calls, counted for metrics — incoming calls by what the
// core decided (or that it could not be asked), calls placed for the core, and how calls ended.

import GatewayProtocol
import Synchronization

/// Gateway-wide call counters (`GatewayMetrics` exports them).
public final class CallStatistics: Sendable {
    /// What became of an incoming call.
    public enum Inbound: String, Sendable, CaseIterable {
        /// missed_call: approved, rung and rejected.
        case missedCall = "missed_call"
        /// voice_callin: answered to say a code.
        case playCode = "play_code"
        /// dtmf_callin: answered to collect a code.
        case collectCode = "collect_code"
        /// Nothing pending for the caller (or no usable caller ID): rejected unanswered.
        case rejected
        /// The core did not answer in time: 503.
        case coreUnavailable = "core_unavailable"
        /// The core wanted an answered call but the gateway has no prompts: 480.
        case noMedia = "no_media"
        /// No called number in the request: 404.
        case noCalledNumber = "no_called_number"
        /// Awaited proof of the caller's address (sip.conf `approve_on = ack`) that never came: no ACK
        /// of our final response (counted besides what the core decided), so nothing was approved.
        case unproven
    }

    private struct Counts {
        var inbound: [Inbound: Int] = [:]
        var originated = 0
        var ended: [CallEnded.Reason: Int] = [:]
    }

    private let counts = Mutex(Counts())

    /// All counts at zero.
    public init() {}

    func inbound(_ kind: Inbound) { counts.withLock { $0.inbound[kind, default: 0] += 1 } }
    func unproven() { inbound(.unproven) }
    func originated() { counts.withLock { $0.originated += 1 } }
    func ended(_ reason: CallEnded.Reason) { counts.withLock { $0.ended[reason, default: 0] += 1 } }

    /// Incoming calls by what became of them (every kind, 0 included).
    public var inboundCalls: [Inbound: Int] {
        let seen = counts.withLock { $0.inbound }
        return Dictionary(uniqueKeysWithValues: Inbound.allCases.map { ($0, seen[$0] ?? 0) })
    }

    /// Calls placed for the core (voice_call, dtmf_callout).
    public var originatedCalls: Int { counts.withLock { $0.originated } }

    /// Calls reported ended, by reason.
    public var endedCalls: [CallEnded.Reason: Int] { counts.withLock { $0.ended } }
}
