// ClientNonInviteTransaction: RFC 3261 §17.1.2 (Figure 6).

/// The non-INVITE client transaction state machine (RFC 3261 §17.1.2, Figure 6):
/// Trying → Proceeding → Completed → Terminated. A value with no I/O.
public struct ClientNonInviteTransaction: Sendable, Equatable {
    /// The states of Figure 6.
    public enum State: Sendable, Equatable {
        /// Request sent, no response yet (§17.1.2.2).
        case trying
        /// A provisional response arrived (§17.1.2.2).
        case proceeding
        /// A final response arrived; absorbing retransmissions until Timer K (§17.1.2.2).
        case completed
        /// Finished.
        case terminated
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the transport is reliable: no Timer E, Timer K zero (§17.1.2.2).
    public let isReliable: Bool
    /// The injected timer values.
    public let timers: SIPTimers
    private var timerEInterval: Duration

    /// Creates the transaction in Trying; call `start()` to send the request.
    public init(isReliable: Bool, timers: SIPTimers = .rfc3261) {
        self.state = .trying
        self.isReliable = isReliable
        self.timers = timers
        self.timerEInterval = timers.timerE
    }

    /// Sends the request and starts Timer E (unreliable only) and Timer F (§17.1.2.2).
    public mutating func start() -> [ClientTransactionAction] {
        guard state == .trying else { return [] }
        var actions: [ClientTransactionAction] = [.sendRequest]
        if !isReliable { actions.append(.startTimer(.timerE, after: timerEInterval)) }
        actions.append(.startTimer(.timerF, after: timers.timerF))
        return actions
    }

    /// A response matching this transaction arrived (§17.1.2.2).
    public mutating func responseReceived(statusCode: Int) -> [ClientTransactionAction] {
        switch (state, StatusClass(statusCode)) {
        case (.trying, .provisional):
            state = .proceeding
            return [.passResponseToTU(statusCode: statusCode)]
        case (.proceeding, .provisional):
            return [.passResponseToTU(statusCode: statusCode)]
        case (.trying, .success), (.trying, .failure), (.proceeding, .success), (.proceeding, .failure):
            state = .completed
            var actions: [ClientTransactionAction] = isReliable ? [] : [.cancelTimer(.timerE)]
            actions += [
                .cancelTimer(.timerF),
                .passResponseToTU(statusCode: statusCode),
                .startTimer(.timerK, after: timers.timerK(isReliable: isReliable)),
            ]
            return actions
        case (.completed, _), (.terminated, _):
            // Retransmitted responses are absorbed in Completed (§17.1.2.2).
            return []
        }
    }

    /// A timer this transaction started has fired (§17.1.2.2).
    public mutating func timerFired(_ timer: TransactionTimer) -> [ClientTransactionAction] {
        switch (state, timer) {
        case (.trying, .timerE):
            timerEInterval = timers.doubledCapped(timerEInterval)
            return [.sendRequest, .startTimer(.timerE, after: timerEInterval)]
        case (.proceeding, .timerE):
            // In Proceeding, retransmit every T2 (§17.1.2.2).
            timerEInterval = timers.t2
            return [.sendRequest, .startTimer(.timerE, after: timerEInterval)]
        case (.trying, .timerF), (.proceeding, .timerF):
            state = .terminated
            return (isReliable ? [] : [.cancelTimer(.timerE)]) + [.reportTimeout, .terminate]
        case (.completed, .timerK):
            state = .terminated
            return [.terminate]
        case (.trying, _), (.proceeding, _), (.completed, _), (.terminated, _):
            return []
        }
    }

    /// The transport reported a failure sending the request (§17.1.4).
    public mutating func transportErrorOccurred() -> [ClientTransactionAction] {
        switch state {
        case .trying, .proceeding:
            state = .terminated
            return (isReliable ? [] : [.cancelTimer(.timerE)]) + [.cancelTimer(.timerF), .reportTransportError, .terminate]
        case .completed, .terminated:
            return []
        }
    }
}
