// InviteSession and its RFC 4028 session timer: refreshes we receive (re-INVITE, UPDATE, RFC 3311)
// and send (§7.4), and the expiry that ends the session with BYE (§10).

import SIPMessage

extension InviteSession {
    /// The answer to a session refresh (re-INVITE or UPDATE) the dialog accepted (RFC 4028 §9).
    public struct RefreshAnswer: Sendable, Equatable {
        /// 200, or 422 when the requested interval is below our Min-SE (RFC 4028 §8.1).
        public var statusCode: Int
        /// Headers the response carries: Session-Expires and Require (200), Min-SE (422).
        public var headers: SIPHeaders
        /// Timer actions: the session timer restarts from this refresh (§10).
        public var actions: [Action]
    }

    /// A re-INVITE or UPDATE arrived in the confirmed dialog and was accepted (RFC 3261 §12.2.2):
    /// negotiate the timer anew as for an initial request (RFC 4028 §9) and restart it; nil when
    /// session timers are off or the session is not confirmed (the shell answers as before).
    public mutating func refreshReceived(_ request: SIPRequest) -> RefreshAnswer? {
        guard state == .confirmed, let settings = sessionTimerSettings else { return nil }
        switch SessionTimer.negotiate(request, settings: settings, weAreUAC: direction == .outgoing) {
        case .tooSmall(let minSE):
            return RefreshAnswer(statusCode: 422, headers: SIPHeaders(SessionTimer.tooSmallHeaders(minSE: minSE)), actions: [])
        case .none:
            // RFC 4028 §9: a refresh without Session-Expires from a peer without timer support turns
            // the timer off.
            let actions = stopSessionTimer()
            sessionTimer = nil
            return RefreshAnswer(statusCode: 200, headers: SIPHeaders(), actions: actions)
        case .active(let timer):
            sessionTimer = timer
            return RefreshAnswer(statusCode: 200, headers: SIPHeaders(timer.responseHeaders), actions: startSessionTimer())
        }
    }

    /// One of the session timer's own timers fired: refresh (RFC 4028 §7.4) when we are the
    /// refresher, or send BYE when the session expired with no refresh (§10).
    public mutating func sessionTimerFired(_ timer: Timer) -> [Action] {
        guard state == .confirmed, let sessionTimer else { return [] }
        switch timer {
        case .sessionRefresh:
            return sessionTimer.isLocalRefresher ? [.sendSessionRefresh(sessionTimer.refreshMethod)] : []
        case .sessionExpiry:
            return hangUp(.timeout)
        case .ringTime:
            return []
        }
    }

    /// The final response to a refresh we sent (RFC 4028 §7.4): a 2xx restarts the timer with what it
    /// grants; 408 and 481 mean the dialog is gone: BYE (RFC 3261 §12.2.1.2); other failures leave
    /// the expiry to end the session if no refresh succeeds.
    public mutating func refreshResponseReceived(_ response: SIPResponse) -> [Action] {
        guard state == .confirmed, var sessionTimer else { return [] }
        switch response.statusCode {
        case 200..<300:
            sessionTimer.refreshAnswered(response, weAreUAC: direction == .outgoing)
            self.sessionTimer = sessionTimer
            return startSessionTimer()
        case 408, 481:
            return hangUp(.timeout)
        default:
            return []
        }
    }

    /// A refresh we sent got no final response (Timer F or B) or could not be sent: the peer is
    /// gone, BYE (RFC 4028 §10, RFC 3261 §12.2.1.2).
    public mutating func refreshTimedOut() -> [Action] {
        state == .confirmed ? hangUp(.timeout) : []
    }

    /// Starts (or restarts) the refresh and expiry timers of the negotiated timer; none without one.
    func startSessionTimer() -> [Action] {
        guard let sessionTimer else { return [] }
        var actions: [Action] = []
        if let refresh = sessionTimer.refreshDelay {
            actions.append(.startTimer(.sessionRefresh, after: refresh))
        } else {
            actions.append(.cancelTimer(.sessionRefresh))
        }
        actions.append(.startTimer(.sessionExpiry, after: sessionTimer.expiryDelay))
        return actions
    }

    /// Stops the session timer's timers when one runs.
    func stopSessionTimer() -> [Action] {
        sessionTimer == nil ? [] : [.cancelTimer(.sessionRefresh), .cancelTimer(.sessionExpiry)]
    }
}
