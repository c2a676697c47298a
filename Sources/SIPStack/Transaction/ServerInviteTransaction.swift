// ServerInviteTransaction: RFC 3261 §17.2.1 with the Accepted state of RFC 6026

/// The INVITE server transaction state machine (RFC 3261 §17.2.1, Figure 7, as updated by
/// RFC 6026): Proceeding → Completed → Confirmed → Terminated, or
/// Proceeding → Accepted → Terminated for a 2xx. A value with no I/O.
public struct ServerInviteTransaction: Sendable, Equatable {
    /// The states of Figure 7 with RFC 6026's Accepted.
    public enum State: Sendable, Equatable {
        /// The INVITE was passed to the TU; provisional responses may go out (§17.2.1).
        case proceeding
        /// A 300–699 was sent; retransmitting it until an ACK (§17.2.1).
        case completed
        /// The ACK arrived; absorbing ACK retransmissions until Timer I (§17.2.1).
        case confirmed
        /// A 2xx was sent; INVITE retransmissions absorbed, ACKs passed up until Timer L (RFC 6026).
        case accepted
        /// Finished.
        case terminated
    }

    /// The current state.
    public private(set) var state: State
    /// Whether the transport is reliable: no Timer G, Timer I zero (§17.2.1).
    public let isReliable: Bool
    /// The injected timer values.
    public let timers: SIPTimers
    private var timerGInterval: Duration
    private var lastResponseStatusCode: Int?

    /// Creates the transaction for a newly received INVITE, in Proceeding (§17.2.1).
    public init(isReliable: Bool, timers: SIPTimers = .rfc3261) {
        self.state = .proceeding
        self.isReliable = isReliable
        self.timers = timers
        self.timerGInterval = timers.timerG
    }

    /// The INVITE that created the transaction: pass it to the TU; send 100 Trying unless the TU is
    /// known to answer within 200 ms (§17.2.1).
    public mutating func start(sendTrying: Bool = true) -> [ServerTransactionAction] {
        guard state == .proceeding, lastResponseStatusCode == nil else { return [] }
        if sendTrying {
            lastResponseStatusCode = 100
            return [.passRequestToTU, .sendTrying]
        }
        return [.passRequestToTU]
    }

    /// A retransmission of the INVITE arrived (§17.2.1, RFC 6026).
    public mutating func requestRetransmissionReceived() -> [ServerTransactionAction] {
        switch state {
        case .proceeding:
            // Resend the most recent provisional response.
            switch lastResponseStatusCode {
            case .some(100): return [.sendTrying]
            case .some(let code): return [.sendResponse(statusCode: code)]
            case .none: return []
            }
        case .completed:
            return lastResponseStatusCode.map { [.sendResponse(statusCode: $0)] } ?? []
        case .confirmed, .accepted, .terminated:
            // Absorbed; in Accepted RFC 6026 says the INVITE is not passed up again.
            return []
        }
    }

    /// The TU gave a response to send (§17.2.1, RFC 6026).
    public mutating func responseSent(statusCode: Int) -> [ServerTransactionAction] {
        switch (state, StatusClass(statusCode)) {
        case (.proceeding, .provisional):
            lastResponseStatusCode = statusCode
            return [.sendResponse(statusCode: statusCode)]
        case (.proceeding, .success):
            state = .accepted
            lastResponseStatusCode = statusCode
            return [.sendResponse(statusCode: statusCode), .startTimer(.timerL, after: timers.timerL)]
        case (.proceeding, .failure):
            state = .completed
            lastResponseStatusCode = statusCode
            var actions: [ServerTransactionAction] = [.sendResponse(statusCode: statusCode)]
            if !isReliable { actions.append(.startTimer(.timerG, after: timerGInterval)) }
            actions.append(.startTimer(.timerH, after: timers.timerH))
            return actions
        case (.accepted, .success):
            // RFC 6026: 2xx retransmissions from the TU (§13.3.1.4) are sent in Accepted.
            return [.sendResponse(statusCode: statusCode)]
        case (.accepted, .provisional), (.accepted, .failure), (.completed, _), (.confirmed, _), (.terminated, _):
            return []
        }
    }

    /// An ACK matching this transaction arrived (§17.2.1, RFC 6026).
    public mutating func ackReceived() -> [ServerTransactionAction] {
        switch state {
        case .completed:
            state = .confirmed
            var actions: [ServerTransactionAction] = isReliable ? [] : [.cancelTimer(.timerG)]
            actions += [.cancelTimer(.timerH), .startTimer(.timerI, after: timers.timerI(isReliable: isReliable))]
            return actions
        case .accepted:
            return [.passACKToTU]
        case .proceeding, .confirmed, .terminated:
            return []
        }
    }

    /// A timer this transaction started has fired (§17.2.1, RFC 6026).
    public mutating func timerFired(_ timer: TransactionTimer) -> [ServerTransactionAction] {
        switch (state, timer) {
        case (.completed, .timerG):
            timerGInterval = timers.doubledCapped(timerGInterval)
            return lastResponseStatusCode.map {
                [.sendResponse(statusCode: $0), .startTimer(.timerG, after: timerGInterval)]
            } ?? []
        case (.completed, .timerH):
            state = .terminated
            return (isReliable ? [] : [.cancelTimer(.timerG)]) + [.reportTimeout, .terminate]
        case (.confirmed, .timerI):
            state = .terminated
            return [.terminate]
        case (.accepted, .timerL):
            state = .terminated
            return [.terminate]
        case (.proceeding, _), (.completed, _), (.confirmed, _), (.accepted, _), (.terminated, _):
            return []
        }
    }

    /// The transport failed sending a response (§17.2.4; Accepted stays until Timer L).
    public mutating func transportErrorOccurred() -> [ServerTransactionAction] {
        switch state {
        case .proceeding:
            state = .terminated
            return [.reportTransportError, .terminate]
        case .completed:
            state = .terminated
            return (isReliable ? [] : [.cancelTimer(.timerG)]) + [.cancelTimer(.timerH), .reportTransportError, .terminate]
        case .accepted:
            // RFC 6026 names no transport-error transition out of Accepted: report it and stay, so ACKs
            // and retransmitted INVITEs still match until Timer L.
            return [.reportTransportError]
        case .confirmed, .terminated:
            return []
        }
    }
}
