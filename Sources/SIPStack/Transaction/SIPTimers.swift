// SIPTimers: the RFC 3261 §17 / Table 4 timer values, computed from injected T1, T2, T4.
// Written by hand: no Swift SIP library exists; these are a few lines of arithmetic from the RFC table.

/// The base timer values of RFC 3261 §17.1.1.1 and Table 4 (Appendix A), injected into every
/// transaction so that tests and deployments choose them; nothing here reads a clock.
public struct SIPTimers: Sendable, Equatable {
    /// T1, the RTT estimate (RFC 3261 §17.1.1.1; default 500 ms).
    public var t1: Duration
    /// T2, the maximum retransmit interval for non-INVITE requests and INVITE responses (default 4 s).
    public var t2: Duration
    /// T4, the maximum duration a message will remain in the network (default 5 s).
    public var t4: Duration
    /// The floor of Timer D on unreliable transports (§17.1.1.2: "at least 32 seconds"). Lowered only
    /// by tests that scale every timer down.
    public var timerDFloor: Duration = .seconds(32)

    /// The RFC 3261 Table 4 defaults: T1 = 500 ms, T2 = 4 s, T4 = 5 s.
    public static let rfc3261 = SIPTimers(t1: .milliseconds(500), t2: .seconds(4), t4: .seconds(5))

    /// Creates a timer set from T1, T2 and T4 (RFC 3261 §17.1.1.1, Table 4).
    public init(t1: Duration, t2: Duration, t4: Duration, timerDFloor: Duration = .seconds(32)) {
        self.t1 = t1
        self.t2 = t2
        self.t4 = t4
        self.timerDFloor = timerDFloor
    }

    /// Timer A initial value, INVITE request retransmit interval on unreliable transports: T1 (§17.1.1.2).
    public var timerA: Duration { t1 }
    /// Timer B, INVITE client transaction timeout: 64·T1 (§17.1.1.2).
    public var timerB: Duration { t1 * 64 }
    /// Timer D, wait time for response retransmits: at least 32 s unreliable, zero reliable (§17.1.1.2).
    public func timerD(isReliable: Bool) -> Duration { isReliable ? .zero : max(timerDFloor, t1 * 64) }
    /// Timer E initial value, non-INVITE request retransmit interval on unreliable transports: T1 (§17.1.2.2).
    public var timerE: Duration { t1 }
    /// Timer F, non-INVITE client transaction timeout: 64·T1 (§17.1.2.2).
    public var timerF: Duration { t1 * 64 }
    /// Timer G initial value, INVITE final response retransmit interval: T1 (§17.2.1).
    public var timerG: Duration { t1 }
    /// Timer H, wait time for ACK receipt: 64·T1 (§17.2.1).
    public var timerH: Duration { t1 * 64 }
    /// Timer I, wait time for ACK retransmits: T4 unreliable, zero reliable (§17.2.1).
    public func timerI(isReliable: Bool) -> Duration { isReliable ? .zero : t4 }
    /// Timer J, wait time for non-INVITE request retransmits: 64·T1 unreliable, zero reliable (§17.2.2).
    public func timerJ(isReliable: Bool) -> Duration { isReliable ? .zero : t1 * 64 }
    /// Timer K, wait time for response retransmits: T4 unreliable, zero reliable (§17.1.2.2).
    public func timerK(isReliable: Bool) -> Duration { isReliable ? .zero : t4 }
    /// Timer L, wait time for accepted INVITE request retransmits: 64·T1 (RFC 6026).
    public var timerL: Duration { t1 * 64 }
    /// Timer M, wait time for retransmissions of 2xx to INVITE: 64·T1 (RFC 6026).
    public var timerM: Duration { t1 * 64 }

    /// The next retransmit interval after `interval` for timers capped at T2 (E, G): min(2·interval, T2)
    /// (RFC 3261 §17.1.2.2, §17.2.1).
    public func doubledCapped(_ interval: Duration) -> Duration { min(interval * 2, t2) }
}

/// The transaction timers of RFC 3261 §17 (Table 4) and RFC 6026 (L, M).
/// Timer C is a proxy timer (§16.6) and is not used by a user agent.
public enum TransactionTimer: Sendable, Hashable, CaseIterable {
    /// INVITE request retransmit, client (§17.1.1.2).
    case timerA
    /// INVITE transaction timeout, client (§17.1.1.2).
    case timerB
    /// Wait for response retransmits in Completed, INVITE client (§17.1.1.2).
    case timerD
    /// Non-INVITE request retransmit, client (§17.1.2.2).
    case timerE
    /// Non-INVITE transaction timeout, client (§17.1.2.2).
    case timerF
    /// INVITE final response retransmit, server (§17.2.1).
    case timerG
    /// Wait for ACK, server (§17.2.1).
    case timerH
    /// Wait for ACK retransmits in Confirmed, server (§17.2.1).
    case timerI
    /// Wait for request retransmits in Completed, non-INVITE server (§17.2.2).
    case timerJ
    /// Wait for response retransmits in Completed, non-INVITE client (§17.1.2.2).
    case timerK
    /// Wait for INVITE retransmits in Accepted, server (RFC 6026).
    case timerL
    /// Wait for 2xx retransmits in Accepted, client (RFC 6026).
    case timerM
}
