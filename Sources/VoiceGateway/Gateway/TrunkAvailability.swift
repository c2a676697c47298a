// TrunkAvailability: whether a trunk answers its `qualify` pings (OPTIONS, RFC 3261 §11), as a
// value fed the outcome of each ping and the time; the pings themselves are TrunkQualifier's.
// Routing skips a down trunk unless every trunk of the route is down (`availableFirst`).

/// The up/down bookkeeping of one qualified trunk. Any final response (even 404 or 501: the
/// provider is there, §11.2) is an answer; a ping without one (Timer F, a transport error, no
/// address from DNS) is a miss. A trunk starts up; `missesBeforeDown` misses in a row make it
/// down; one answer makes it up again.
public struct TrunkAvailability: Sendable, Equatable {
    /// A ping's outcome.
    public enum Probe: Sendable, Equatable {
        /// A final response with this status.
        case answered(Int)
        /// No final response (timeout, transport error, no next hop).
        case missed
    }

    /// A change of state the caller logs and counts.
    public enum Change: Sendable, Equatable {
        /// Down after this many misses in a row.
        case down(misses: Int)
        /// Up again, after being down for this long.
        case up(after: Duration)
    }

    /// Misses in a row that make a trunk down: one lost UDP ping (Timer F already retransmits it
    /// for 32 s) is not enough.
    public static let missesBeforeDown = 2

    /// Whether routing may use the trunk.
    public private(set) var isUp = true
    /// Misses since the last answer.
    public private(set) var misses = 0
    /// When the trunk went down; nil while up.
    public private(set) var downSince: ContinuousClock.Instant?
    /// The last ping's status, if it was answered.
    public private(set) var lastStatus: Int?

    /// A trunk not yet pinged: up.
    public init() {}

    /// Records a ping's outcome at `now`; returns the change it made, if any.
    public mutating func record(_ probe: Probe, at now: ContinuousClock.Instant) -> Change? {
        switch probe {
        case .answered(let status):
            lastStatus = status
            misses = 0
            guard !isUp else { return nil }
            isUp = true
            defer { downSince = nil }
            return .up(after: downSince.map { now - $0 } ?? .zero)
        case .missed:
            lastStatus = nil
            misses += 1
            guard isUp, misses >= Self.missesBeforeDown else { return nil }
            isUp = false
            downSince = now
            return .down(misses: misses)
        }
    }
}

extension OutboundAttempt {
    /// `attempts` with those of down trunks left out (a down trunk is skipped by routing until it
    /// answers again); all of them when every trunk is down, since a down mark may be stale and a
    /// call tried is better than none. `outbound_target` attempts (no trunk) are never down.
    public static func availableFirst(_ attempts: [OutboundAttempt], down: Set<String>) -> [OutboundAttempt] {
        let up = attempts.filter { $0.trunk.map { !down.contains($0) } ?? true }
        return up.isEmpty ? attempts : up
    }
}
