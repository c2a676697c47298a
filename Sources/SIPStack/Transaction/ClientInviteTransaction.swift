// ClientInviteTransaction: RFC 3261 §17.1.1 with the Accepted state of RFC 6026

/// The INVITE client transaction state machine (RFC 3261 §17.1.1, Figure 5, as updated by
/// RFC 6026): Calling → Proceeding → Completed / Accepted → Terminated.
///
/// A value with no I/O: every input returns the actions to run. The ACK for a non-2xx final response
/// is the transaction's (§17.1.1.3, `.sendACK`); the ACK for a 2xx belongs to the dialog (§13.2.2.4).
public struct ClientInviteTransaction: Sendable, Equatable {
    /// The states of Figure 5 with RFC 6026's Accepted.
    public enum State: Sendable, Equatable {
        /// Request sent, no response yet (§17.1.1.2).
        case calling
        /// A provisional response arrived (§17.1.1.2).
        case proceeding
        /// A 300–699 arrived and was ACKed; absorbing retransmissions until Timer D (§17.1.1.2).
        case completed
        /// A 2xx arrived; further 2xx go to the TU until Timer M (RFC 6026).
        case accepted
        /// Finished (§17.1.1.2).
        case terminated
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the transport is reliable (TCP, TLS): no retransmissions, Timer D zero (§17.1.1.2).
    public let isReliable: Bool
    /// The injected timer values.
    public let timers: SIPTimers
    private var timerAInterval: Duration
    private var finalStatusCode: Int?

    /// Creates the transaction in Calling; call `start()` to send the request.
    public init(isReliable: Bool, timers: SIPTimers = .rfc3261) {
        self.state = .calling
        self.isReliable = isReliable
        self.timers = timers
        self.timerAInterval = timers.timerA
    }

    /// Whether a CANCEL may be sent now: only once a provisional response arrived (RFC 3261 §9.1).
    public var canCancel: Bool { state == .proceeding }

    /// Sends the INVITE and starts Timer A (unreliable only) and Timer B (§17.1.1.2).
    public mutating func start() -> [ClientTransactionAction] {
        guard state == .calling else { return [] }
        var actions: [ClientTransactionAction] = [.sendRequest]
        if !isReliable { actions.append(.startTimer(.timerA, after: timerAInterval)) }
        actions.append(.startTimer(.timerB, after: timers.timerB))
        return actions
    }

    /// A response matching this transaction arrived (§17.1.1.2, RFC 6026).
    public mutating func responseReceived(statusCode: Int) -> [ClientTransactionAction] {
        switch (state, StatusClass(statusCode)) {
        case (.calling, .provisional):
            state = .proceeding
            return leaveCalling() + [.passResponseToTU(statusCode: statusCode)]
        case (.proceeding, .provisional):
            return [.passResponseToTU(statusCode: statusCode)]
        case (.calling, .success), (.proceeding, .success):
            let cancels = state == .calling ? leaveCalling() : []
            state = .accepted
            return cancels + [.passResponseToTU(statusCode: statusCode), .startTimer(.timerM, after: timers.timerM)]
        case (.calling, .failure), (.proceeding, .failure):
            let cancels = state == .calling ? leaveCalling() : []
            state = .completed
            finalStatusCode = statusCode
            return cancels + [
                .passResponseToTU(statusCode: statusCode),
                .sendACK(statusCode: statusCode),
                .startTimer(.timerD, after: timers.timerD(isReliable: isReliable)),
            ]
        case (.completed, .failure):
            // A retransmitted final response: ACK again, do not pass up (§17.1.1.2).
            return [.sendACK(statusCode: finalStatusCode ?? statusCode)]
        case (.completed, .provisional), (.completed, .success):
            return []
        case (.accepted, .success):
            // RFC 6026: retransmitted (or forked) 2xx go to the TU, which ACKs them.
            return [.passResponseToTU(statusCode: statusCode)]
        case (.accepted, .provisional), (.accepted, .failure):
            return []
        case (.terminated, _):
            return []
        }
    }

    /// A timer this transaction started has fired (§17.1.1.2, RFC 6026).
    public mutating func timerFired(_ timer: TransactionTimer) -> [ClientTransactionAction] {
        switch (state, timer) {
        case (.calling, .timerA):
            timerAInterval = timerAInterval * 2
            return [.sendRequest, .startTimer(.timerA, after: timerAInterval)]
        case (.calling, .timerB):
            state = .terminated
            return (isReliable ? [] : [.cancelTimer(.timerA)]) + [.reportTimeout, .terminate]
        case (.completed, .timerD):
            state = .terminated
            return [.terminate]
        case (.accepted, .timerM):
            state = .terminated
            return [.terminate]
        case (.calling, _), (.proceeding, _), (.completed, _), (.accepted, _), (.terminated, _):
            return []
        }
    }

    /// The transport reported a failure sending the request or the ACK (§17.1.4, §17.1.1.2).
    public mutating func transportErrorOccurred() -> [ClientTransactionAction] {
        switch state {
        case .calling, .proceeding, .completed:
            let cancels: [ClientTransactionAction] = switch state {
            case .calling: leaveCalling()
            case .completed: [.cancelTimer(.timerD)]
            case .proceeding, .accepted, .terminated: []
            }
            state = .terminated
            return cancels + [.reportTransportError, .terminate]
        case .accepted, .terminated:
            return []
        }
    }

    private func leaveCalling() -> [ClientTransactionAction] {
        isReliable ? [.cancelTimer(.timerB)] : [.cancelTimer(.timerA), .cancelTimer(.timerB)]
    }
}
