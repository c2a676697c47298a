// ServerNonInviteTransaction: RFC 3261 §17.2.2 (Figure 8).

/// The non-INVITE server transaction state machine (RFC 3261 §17.2.2, Figure 8):
/// Trying → Proceeding → Completed → Terminated. A value with no I/O.
public struct ServerNonInviteTransaction: Sendable, Equatable {
    /// The states of Figure 8.
    public enum State: Sendable, Equatable {
        /// The request was passed to the TU; no response yet (§17.2.2).
        case trying
        /// A provisional response was sent (§17.2.2).
        case proceeding
        /// A final response was sent; answering retransmissions until Timer J (§17.2.2).
        case completed
        /// Finished.
        case terminated
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the transport is reliable: Timer J zero (§17.2.2).
    public let isReliable: Bool
    /// The injected timer values.
    public let timers: SIPTimers
    private var lastResponseStatusCode: Int?

    /// Creates the transaction for a newly received request, in Trying (§17.2.2).
    public init(isReliable: Bool, timers: SIPTimers = .rfc3261) {
        self.state = .trying
        self.isReliable = isReliable
        self.timers = timers
    }

    /// The request that created the transaction: pass it to the TU (§17.2.2).
    public mutating func start() -> [ServerTransactionAction] {
        state == .trying && lastResponseStatusCode == nil ? [.passRequestToTU] : []
    }

    /// A retransmission of the request arrived (§17.2.2).
    public mutating func requestRetransmissionReceived() -> [ServerTransactionAction] {
        switch state {
        case .trying, .terminated:
            return []
        case .proceeding, .completed:
            return lastResponseStatusCode.map { [.sendResponse(statusCode: $0)] } ?? []
        }
    }

    /// The TU gave a response to send (§17.2.2).
    public mutating func responseSent(statusCode: Int) -> [ServerTransactionAction] {
        switch (state, StatusClass(statusCode)) {
        case (.trying, .provisional), (.proceeding, .provisional):
            state = .proceeding
            lastResponseStatusCode = statusCode
            return [.sendResponse(statusCode: statusCode)]
        case (.trying, .success), (.trying, .failure), (.proceeding, .success), (.proceeding, .failure):
            state = .completed
            lastResponseStatusCode = statusCode
            return [.sendResponse(statusCode: statusCode), .startTimer(.timerJ, after: timers.timerJ(isReliable: isReliable))]
        case (.completed, _), (.terminated, _):
            // Final responses after the first are discarded (§17.2.2).
            return []
        }
    }

    /// A timer this transaction started has fired (§17.2.2).
    public mutating func timerFired(_ timer: TransactionTimer) -> [ServerTransactionAction] {
        switch (state, timer) {
        case (.completed, .timerJ):
            state = .terminated
            return [.terminate]
        case (.trying, _), (.proceeding, _), (.completed, _), (.terminated, _):
            return []
        }
    }

    /// The transport failed sending a response (§17.2.4).
    public mutating func transportErrorOccurred() -> [ServerTransactionAction] {
        switch state {
        case .trying, .proceeding:
            state = .terminated
            return [.reportTransportError, .terminate]
        case .completed:
            state = .terminated
            return [.cancelTimer(.timerJ), .reportTransportError, .terminate]
        case .terminated:
            return []
        }
    }
}
