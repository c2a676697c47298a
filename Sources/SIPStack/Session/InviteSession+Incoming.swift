// InviteSession, UAS side: ringing, answering and rejecting an INVITE (RFC 3261 §13.3.1), the
// caller's CANCEL (§9.2), the ACK of our 2xx (§13.3.1.4) and of our failure response (§17.2.1).

import SIPMessage

extension InviteSession {
    /// Incoming: from now on a final failure response (our rejection, or 487 after CANCEL) ends the
    /// session only at its ACK (`failureACKReceived()`) or Timer H (`inviteTransactionTimedOut()`),
    /// §17.2.1.
    public mutating func awaitFailureACK() {
        awaitsFailureACK = true
    }

    /// Incoming: the application rings (180) or sends early media (183) (§13.3.1.1); the early dialog
    /// is created with our tag (§12.1.1).
    public mutating func ring(statusCode: Int) -> [Action] {
        guard direction == .incoming, isInviting, (101..<200).contains(statusCode) else { return [] }
        if dialog == nil { dialog = uasDialog(confirmed: false) }
        state = .early
        return [.sendProvisional(statusCode: statusCode)]
    }

    /// Incoming: the application answers (§13.3.1.4): the dialog is confirmed and the 2xx goes out. An
    /// INVITE without Contact makes no dialog (§12.1.1): it is refused with 400 instead.
    public mutating func answer() -> [Action] {
        guard direction == .incoming, isInviting else { return [] }
        if dialog == nil { dialog = uasDialog(confirmed: true) }
        dialog?.finalResponseSent(statusCode: 200)
        guard dialog != nil else {
            return [.sendFinalResponse(statusCode: 400, reasonPhrase: "Missing Contact")] + end(.rejected(statusCode: 400))
        }
        state = .confirmed
        return [.sendAnswer] + startSessionTimer()
    }

    /// Incoming: the application rejects the call before answering (§13.3.1.3).
    public mutating func reject(statusCode: Int, reasonPhrase: String? = nil) -> [Action] {
        guard direction == .incoming, isInviting else { return [] }
        dialog?.finalResponseSent(statusCode: statusCode)
        return [.sendFinalResponse(statusCode: statusCode, reasonPhrase: reasonPhrase)] + endAfterFailure(.rejected(statusCode: statusCode))
    }

    /// Incoming: the caller's CANCEL matched the pending INVITE, which got 487 (§9.2).
    public mutating func cancelReceived() -> [Action] {
        guard direction == .incoming, isInviting else { return [] }
        dialog?.finalResponseSent(statusCode: 487)
        return endAfterFailure(.cancelled)
    }

    /// Incoming: the ACK for our final failure response arrived with our To tag (§17.2.1): when the
    /// session awaited it, `.confirmed` and the end.
    public mutating func failureACKReceived() -> [Action] {
        guard case .terminating(let reason, .awaitingACK) = state else { return [] }
        return [.report(.confirmed)] + end(reason)
    }

    /// Incoming: the INVITE server transaction gave up — Timer H without the ACK of our failure
    /// response (§17.2.1) or a transport error (§17.2.4): the end (`.timeout`) when the INVITE was
    /// still unanswered or its failure ACK awaited.
    public mutating func inviteTransactionTimedOut() -> [Action] {
        switch state {
        case .inviting, .early, .terminating(_, .awaitingACK): end(.timeout)
        case .confirmed, .terminating, .terminated: []
        }
    }

    /// Incoming: the ACK for a 2xx arrived while that 2xx was still being resent (§13.3.1.4): when it
    /// acknowledges the 2xx to the initial INVITE (not a re-INVITE, §14.2), the call is confirmed.
    public mutating func successACKReceived() -> [Action] {
        guard direction == .incoming, state == .confirmed, let invite = incomingINVITE,
              dialog?.lastInviteSequence == (try? invite.headers.cseq().sequence) else { return [] }
        return [.report(.confirmed)]
    }

    /// Incoming: our 2xx got no ACK within 64·T1 (§13.3.1.4): "confirm and end the session with BYE".
    public mutating func successACKTimedOut() -> [Action] {
        hangUp(.timeout)
    }

    private func uasDialog(confirmed: Bool) -> Dialog? {
        guard let invite = incomingINVITE, let localTag else { return nil }
        return try? Dialog(uasRequest: invite, localTag: localTag, confirmed: confirmed, localContact: localContact)
    }

    /// A final failure went out: the end now, or at its ACK / Timer H when awaited (§17.2.1).
    private mutating func endAfterFailure(_ reason: EndReason) -> [Action] {
        guard awaitsFailureACK else { return end(reason) }
        state = .terminating(reason, .awaitingACK)
        return []
    }
}
