// SuccessResponseRetransmission: the UAS core's 2xx retransmission until the ACK (RFC 3261 §13.3.1.4).

/// The UAS core retransmits a 2xx to INVITE itself, because the INVITE server transaction does not
/// (RFC 3261 §13.3.1.4, RFC 6026): at T1, doubling to T2, on every transport (reliable too, as the
/// RFC says, for proxies that may be on UDP), until the ACK arrives; after 64·T1 without ACK the
/// dialog should be ended with BYE. A value with no I/O.
public struct SuccessResponseRetransmission: Sendable, Equatable {
    /// The timers of this machine.
    public enum Timer: Sendable, Hashable {
        /// Retransmit the 2xx (§13.3.1.4: T1, doubling to T2).
        case retransmit
        /// Give up waiting for the ACK (§13.3.1.4: 64·T1).
        case giveUp
    }

    /// What to do.
    public enum Action: Sendable, Equatable {
        /// Send the 2xx again (through the Accepted server transaction, RFC 6026).
        case retransmitResponse
        /// Start (or restart) a timer.
        case startTimer(Timer, after: Duration)
        /// Stop a timer.
        case cancelTimer(Timer)
        /// The ACK never came: confirm and end the session with BYE (§13.3.1.4).
        case reportACKTimeout
    }

    /// Whether the ACK arrived or the machine gave up.
    public private(set) var isFinished = false
    private let timers: SIPTimers
    private var interval: Duration

    /// Creates the machine for a 2xx just sent.
    public init(timers: SIPTimers = .rfc3261) {
        self.timers = timers
        self.interval = timers.t1
    }

    /// The 2xx was sent for the first time: start both timers.
    public func start() -> [Action] {
        [.startTimer(.retransmit, after: interval), .startTimer(.giveUp, after: timers.t1 * 64)]
    }

    /// A timer fired.
    public mutating func timerFired(_ timer: Timer) -> [Action] {
        guard !isFinished else { return [] }
        switch timer {
        case .retransmit:
            interval = timers.doubledCapped(interval)
            return [.retransmitResponse, .startTimer(.retransmit, after: interval)]
        case .giveUp:
            isFinished = true
            return [.cancelTimer(.retransmit), .reportACKTimeout]
        }
    }

    /// The ACK for the 2xx arrived (passed up by the dialog, §13.3.1.4).
    public mutating func ackReceived() -> [Action] {
        guard !isFinished else { return [] }
        isFinished = true
        return [.cancelTimer(.retransmit), .cancelTimer(.giveUp)]
    }
}
