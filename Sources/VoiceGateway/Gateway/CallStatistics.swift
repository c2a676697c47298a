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
    }

    private let counts = Mutex<[String: Int]>([:])

    public init() {}

    func inbound(_ kind: Inbound) { add("in/\(kind.rawValue)") }
    func originated() { add("out/originated") }
    func ended(_ reason: CallEnded.Reason) { add("ended/\(reason.rawValue)") }

    private func add(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }

    /// Incoming calls by what became of them.
    public var inboundCalls: [Inbound: Int] {
        let all = counts.withLock { $0 }
        return Dictionary(uniqueKeysWithValues: Inbound.allCases.map { ($0, all["in/\($0.rawValue)"] ?? 0) })
    }

    /// Calls placed for the core (voice_call, dtmf_callout).
    public var originatedCalls: Int { counts.withLock { $0["out/originated"] ?? 0 } }

    /// Calls reported ended, by reason (`CallEnded.Reason` raw values).
    public var endedCalls: [String: Int] {
        counts.withLock { all in
            Dictionary(uniqueKeysWithValues: all.filter { $0.key.hasPrefix("ended/") }.map { (String($0.key.dropFirst(6)), $0.value) })
        }
    }
}
