// InviteSession: the INVITE session of one call (RFC 3261 §13, §9, §15) as a value with no I/O.

import SIPMessage

/// The session an INVITE creates, from the INVITE to the end of the call (RFC 3261 §13 "Initiating a
/// Session", §9 "Canceling a Request", §15 "Terminating a Session"), for the UAC and the UAS.
///
/// A value like the transactions (`ClientInviteTransaction`, `ServerInviteTransaction`): inputs are
/// messages the transactions pass up, timer fires and the application's commands; each returns the
/// `Action`s for the shell to run. It reads no clock and owns no transport; it owns the dialog (§12).
public struct InviteSession: Sendable, Equatable {
    /// Who sent the INVITE.
    public enum Direction: Sendable, Equatable {
        /// We sent it (UAC, §13.2).
        case outgoing
        /// We received it (UAS, §13.3).
        case incoming
    }

    /// Where the session stands.
    public enum State: Sendable, Equatable {
        /// The INVITE is out (outgoing) or in (incoming); no provisional response yet (§13.2.1, §13.3.1).
        case inviting
        /// A provisional response arrived (outgoing) or went out (incoming) (§13.2.2.1, §13.3.1.1).
        case early
        /// A 2xx arrived and was ACKed (outgoing) or went out (incoming); the dialog is confirmed (§13.2.2.4,
        /// §13.3.1.4, §12.1).
        case confirmed
        /// We (or the caller, by CANCEL) decided to end; waiting as `Ending` says.
        case terminating(EndReason, Ending)
        /// Over; no input does anything more.
        case terminated(EndReason)
    }

    /// Who sent the INVITE.
    public let direction: Direction
    /// Where the session stands.
    public internal(set) var state: State
    /// The dialog: early after a provisional with a To tag, confirmed after the 2xx (§12.1).
    public internal(set) var dialog: Dialog?
    /// Our Contact, put into the dialog (§12.1.1, §12.1.2).
    public let localContact: SIPNameAddress
    /// Outgoing: whether credentials are at hand for a 401/407 (§22.2), and not used yet.
    var canRetryWithCredentials: Bool
    /// Outgoing: whether `start(ringTime:)` sent the INVITE already.
    var isStarted = false
    /// Incoming: the INVITE, for the UAS dialog (§12.1.1).
    let incomingINVITE: SIPRequest?
    /// Incoming: our To tag (§8.2.6.2).
    let localTag: String?
    /// Incoming: a final failure response ends the session only at its ACK or Timer H (§17.2.1).
    var awaitsFailureACK = false
    /// The session timer (RFC 4028) once negotiated: by the incoming INVITE, or the 2xx to ours.
    public internal(set) var sessionTimer: SessionTimer?
    /// Our session-timer wishes (RFC 4028 §7.1, §9); nil when session timers are off. Outgoing: what
    /// the INVITE carries, raised to the peer's Min-SE after a 422 (§7.4 of RFC 4028).
    public internal(set) var sessionTimerSettings: SessionTimer.Settings?
    /// Outgoing: whether a 422 may still be answered with one retry (RFC 4028 §7.4).
    var canRetryAfter422 = true

    /// An outgoing session (UAC, §13.2); `start(ringTime:)` sends the INVITE. With `hasCredentials`,
    /// one 401/407 is answered with credentials (§22.2).
    /// With `sessionTimer` settings the INVITE offers a session timer (RFC 4028 §7.1) and one 422 is
    /// retried with the peer's Min-SE (RFC 4028 §7.4).
    public init(outgoingWithCredentials hasCredentials: Bool, localContact: SIPNameAddress, sessionTimer: SessionTimer.Settings? = nil) {
        self.direction = .outgoing
        self.sessionTimerSettings = sessionTimer
        self.state = .inviting
        self.localContact = localContact
        self.canRetryWithCredentials = hasCredentials
        self.incomingINVITE = nil
        self.localTag = nil
    }

    /// An incoming session (UAS, §13.3) for `invite`, answered with our To tag `localTag`. With
    /// `sessionTimer` settings, the timer `SessionTimer.negotiate` gives for the INVITE runs from the
    /// answer (RFC 4028 §9); the shell answers 422 itself when it says `.tooSmall`.
    public init(incoming invite: SIPRequest, localTag: String, localContact: SIPNameAddress, sessionTimer: SessionTimer.Settings? = nil) {
        self.direction = .incoming
        self.sessionTimerSettings = sessionTimer
        if let sessionTimer, case .active(let timer) = SessionTimer.negotiate(invite, settings: sessionTimer) { self.sessionTimer = timer }
        self.state = .inviting
        self.localContact = localContact
        self.canRetryWithCredentials = false
        self.incomingINVITE = invite
        self.localTag = localTag
    }

    /// Whether a final response to the INVITE is still to come (outgoing) or to give (incoming).
    public var isInviting: Bool {
        switch state {
        case .inviting, .early: true
        case .confirmed, .terminating, .terminated: false
        }
    }

    /// Whether the session is over.
    public var isTerminated: Bool {
        if case .terminated = state { true } else { false }
    }

    // MARK: Either side

    /// The application hangs up (§15.1.1): BYE once confirmed; outgoing before the answer, CANCEL
    /// (§9.1) — at once when `canCancel` (the INVITE transaction got a provisional response,
    /// `ClientInviteTransaction.canCancel`), else at the first provisional; incoming before the
    /// answer, a 480 (§13.3.1.3). While ending already, nothing: the first reason stands.
    public mutating func hangUp(_ reason: EndReason = .localHangUp, canCancel: Bool = false) -> [Action] {
        switch (direction, state) {
        case (.outgoing, .inviting), (.outgoing, .early):
            return [.cancelTimer(.ringTime)] + cancel(reason, canCancel: canCancel)
        case (.incoming, .inviting), (.incoming, .early):
            return reject(statusCode: 480)
        case (_, .confirmed):
            guard dialog != nil else { return end(reason) }
            state = .terminating(reason, .byeSent)
            return (direction == .incoming ? [.stopSuccessRetransmission] : []) + stopSessionTimer() + [.sendBYE]
        case (_, .terminating), (_, .terminated):
            return []
        }
    }

    /// Builds the BYE that `.sendBYE` asks for, from the dialog with the next CSeq (§15.1.1, §12.2.1.1),
    /// and ends the dialog: requests arriving in it from now on get 481 (§12.2.2).
    public mutating func makeBYE(via: SIPVia) throws(SIPStackError) -> SIPRequest {
        guard var dialog else { throw SIPStackError(.invalidDialogState, "no dialog") }
        let bye = try dialog.makeRequest(method: .bye, via: via)
        dialog.terminate()
        self.dialog = dialog
        return bye
    }

    /// The BYE we sent got its final response, timed out, or could not be built (§15.1.1): the end.
    public mutating func byeCompleted() -> [Action] {
        switch state {
        case .terminating(let reason, _): end(reason)
        case .terminated: []
        case .inviting, .early, .confirmed: end(.localHangUp)
        }
    }

    /// The peer's BYE was accepted by the dialog (§15.1.2): the end.
    public mutating func byeReceived() -> [Action] {
        isTerminated ? [] : end(.remoteHangUp)
    }

    /// Hands a request received in the dialog to it (§12.2.2): CSeq order, target refresh, BYE.
    /// Nil when there is no dialog (the shell answers 481).
    public mutating func dialogRequestReceived(_ request: SIPRequest) -> Dialog.RequestOutcome? {
        guard var dialog else { return nil }
        defer { self.dialog = dialog }
        return dialog.requestReceived(request)
    }

    /// Builds a request in the dialog (INFO, OPTIONS, …; §12.2.1.1) with the next CSeq.
    public mutating func makeRequest(method: SIPMethod, via: SIPVia) throws(SIPStackError) -> SIPRequest {
        guard var dialog else { throw SIPStackError(.invalidDialogState, "no dialog") }
        let request = try dialog.makeRequest(method: method, via: via)
        self.dialog = dialog
        return request
    }

    // MARK: Helpers

    mutating func end(_ reason: EndReason) -> [Action] {
        state = .terminated(reason)
        return [.end(reason)]
    }

    /// Outgoing, before a final response: CANCEL now when allowed (§9.1), else when a provisional comes.
    mutating func cancel(_ reason: EndReason, canCancel: Bool) -> [Action] {
        state = .terminating(reason, canCancel ? .cancelSent : .cancelPending)
        return canCancel ? [.sendCANCEL] : []
    }

    /// The reason a session that is ending ends with, or `fallback`.
    func endingReason(or fallback: EndReason) -> EndReason {
        if case .terminating(let reason, _) = state { reason } else { fallback }
    }
}
