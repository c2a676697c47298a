// InviteSession, UAC side: responses to our INVITE (RFC 3261 §13.2.2), authentication (§22.2),
// CANCEL on ring time (§9.1), the ACK for the 2xx (§13.2.2.4).

import SIPMessage

extension InviteSession {
    /// Outgoing: sends the INVITE and starts the ring time (§13.2.1).
    public mutating func start(ringTime: Duration) -> [Action] {
        guard direction == .outgoing, state == .inviting, !isStarted else { return [] }
        isStarted = true
        return [.sendINVITE, .startTimer(.ringTime, after: ringTime)]
    }

    /// Outgoing: the INVITE client transaction passed up `response` to `request` (§13.2.2, RFC 6026).
    ///
    /// - 1xx: early (a 101–199 with a To tag creates the early dialog, §12.1.2, and is reported); a
    ///   CANCEL waiting for a provisional goes out now (§9.1).
    /// - 2xx: ACK it (§13.2.2.4) and confirm the dialog; a 2xx after we decided to cancel is ACKed
    ///   and ended with BYE (§9.1, §15); a retransmitted 2xx gets the same ACK again.
    /// - 401/407: one retry with credentials (§22.2) unless we are cancelling.
    /// - Other failures end the session: 487 after our CANCEL with our reason (§9.1), others as
    ///   `.failed` (§13.2.2.3).
    public mutating func responseReceived(_ response: SIPResponse, to request: SIPRequest) -> [Action] {
        guard direction == .outgoing else { return [] }
        let statusCode = response.statusCode
        switch state {
        case .terminated:
            return []
        case .confirmed, .terminating(_, .byeSent):
            return (200..<300).contains(statusCode) ? [.resendACK] : []
        case .terminating(_, .awaitingACK):
            return []
        case .inviting, .early, .terminating(_, .cancelPending), .terminating(_, .cancelSent):
            break
        }
        switch statusCode {
        case 100..<200:
            var actions: [Action] = []
            if statusCode > 100 {
                if dialog == nil, (try? response.headers.to().tag) != nil {
                    dialog = try? Dialog(uacRequest: request, response: response, localContact: localContact)
                }
                actions.append(.report(.progress(statusCode: statusCode)))
            }
            switch state {
            case .inviting: state = .early
            case .terminating(let reason, .cancelPending):
                state = .terminating(reason, .cancelSent)
                actions.append(.sendCANCEL)
            case .early, .confirmed, .terminating, .terminated: break
            }
            return actions
        case 200..<300:
            return successReceived(response, to: request)
        case 401, 407:
            if canRetryWithCredentials, !isEnding {
                canRetryWithCredentials = false
                state = .inviting
                return [.retryWithCredentials]
            }
            return end(.failed(statusCode: statusCode, reason: response.reasonPhrase))
        case 422:
            // RFC 4028 §7.4: retry once with the peer's Min-SE as Session-Expires and Min-SE.
            if canRetryAfter422, !isEnding, let settings = sessionTimerSettings, let raised = SessionTimer.settings(after: response, previous: settings) {
                canRetryAfter422 = false
                sessionTimerSettings = raised
                state = .inviting
                return [.retryWithSessionInterval]
            }
            return end(.failed(statusCode: statusCode, reason: response.reasonPhrase))
        default:
            if statusCode == 487, case .terminating(let reason, _) = state { return end(reason) }
            return end(.failed(statusCode: statusCode, reason: response.reasonPhrase))
        }
    }

    /// Outgoing: the retry that `.retryWithCredentials` asked for could not be made (the challenge is
    /// unusable, §22.2): the 401/407 ends the session as a failure.
    public mutating func retryFailed(statusCode: Int, reasonPhrase: String) -> [Action] {
        isTerminated ? [] : end(.failed(statusCode: statusCode, reason: reasonPhrase))
    }

    /// Outgoing: the ring time ran out before a final response: CANCEL (§9.1), at once when
    /// `canCancel` (`ClientInviteTransaction.canCancel`), else at the first provisional response.
    public mutating func ringTimeExpired(canCancel: Bool) -> [Action] {
        guard direction == .outgoing, isInviting else { return [] }
        return cancel(.noAnswer, canCancel: canCancel)
    }

    /// Outgoing: the INVITE transaction ended without a final response — Timer B (`.timeout`,
    /// §17.1.1.2) or a transport error (§17.1.4) — or the CANCEL never got a provisional to follow:
    /// the end, with the reason we were cancelling for if any.
    public mutating func inviteTransactionFailed(_ reason: EndReason) -> [Action] {
        isTerminated ? [] : end(endingReason(or: reason))
    }

    private var isEnding: Bool {
        if case .terminating = state { true } else { false }
    }

    private mutating func successReceived(_ response: SIPResponse, to request: SIPRequest) -> [Action] {
        let remoteTag = try? response.headers.to().tag
        if var early = dialog, early.id.remoteTag == remoteTag {
            early.responseReceived(response)
            dialog = early
        } else if let confirmed = try? Dialog(uacRequest: request, response: response, localContact: localContact) {
            dialog = confirmed
        } else {
            // No To tag or no Contact: no dialog to ACK in (§12.1.2); wait for a usable answer or Timer B.
            return []
        }
        let actions: [Action] = [.cancelTimer(.ringTime), .sendACK]
        if case .terminating(let reason, _) = state {
            // CANCEL lost the race with the answer: end the call at once (§9.1, §15).
            state = .terminating(reason, .byeSent)
            return actions + [.sendBYE]
        }
        state = .confirmed
        if let settings = sessionTimerSettings { sessionTimer = SessionTimer.negotiated(byAnswer: response, settings: settings) }
        return actions + [.report(.answered)] + startSessionTimer()
    }
}
