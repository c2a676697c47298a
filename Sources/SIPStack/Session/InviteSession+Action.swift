// What an InviteSession asks its shell to do, what it reports, and why a session ends
// (RFC 3261 §13 INVITE, §9 CANCEL, §15 BYE, §17.2.1 the ACK of a failure, §22.2 authentication).

import SIPMessage

extension InviteSession {
    /// What the session asks its shell to do. The session holds no transport: the shell builds the
    /// messages (fresh branches, Via, Contact, bodies) and runs the transactions that carry them.
    public enum Action: Sendable, Equatable {
        /// Outgoing: start the INVITE client transaction with the INVITE (§13.2.1, §17.1.1).
        case sendINVITE
        /// Outgoing: answer the 401/407 just received with a new INVITE carrying credentials, in a new
        /// client transaction (§22.2, §8.1.3.5); at most once per call.
        case retryWithCredentials
        /// Outgoing: the 422 just received (RFC 4028 §6) is answered with a new INVITE whose
        /// Session-Expires and Min-SE are `sessionTimerSettings` (the 422's Min-SE), in a new client
        /// transaction (§7.4 of RFC 4028 via RFC 3261 §8.1.3.5); at most once per call.
        case retryWithSessionInterval
        /// Send a session refresh (RFC 4028 §7.4) in the dialog with this method (UPDATE without SDP,
        /// or re-INVITE with our SDP), carrying `SessionTimer.refreshHeaders`; report its final
        /// response with `refreshResponseReceived(_:)`.
        case sendSessionRefresh(SIPMethod)
        /// Outgoing: CANCEL the pending INVITE in a client transaction of its own (§9.1).
        case sendCANCEL
        /// Outgoing: send the ACK for the 2xx just received, built from `dialog` (§13.2.2.4).
        case sendACK
        /// Outgoing: a 2xx came again (RFC 6026 passes it up from Accepted): send the same ACK again
        /// (§13.2.2.4).
        case resendACK
        /// Send BYE in `dialog`, built with `makeBYE(via:)` (§15.1.1); report its outcome with
        /// `byeCompleted()`.
        case sendBYE
        /// Incoming: send this provisional response, creating the early dialog (§13.3.1.1, §12.1.1).
        case sendProvisional(statusCode: Int)
        /// Incoming: send the 2xx with our SDP and resend it until the ACK (§13.3.1.4).
        case sendAnswer
        /// Incoming: send this final failure response to the INVITE (§13.3.1.3).
        case sendFinalResponse(statusCode: Int, reasonPhrase: String?)
        /// Incoming: stop resending the 2xx (§13.3.1.4): we hang up before its ACK.
        case stopSuccessRetransmission
        /// Start (or restart) a timer; the matching input comes back when it fires.
        case startTimer(Timer, after: Duration)
        /// Stop a running timer.
        case cancelTimer(Timer)
        /// Tell the application something happened.
        case report(Event)
        /// The session is over: stop its timers, tell the application why, forget it. Transactions
        /// still running finish on their own (§17).
        case end(EndReason)
    }

    /// The session's own timers (the transactions' timers are theirs, §17).
    public enum Timer: Sendable, Hashable {
        /// Outgoing: how long the callee may ring before we CANCEL (§9.1; the TU's choice, §13.2.1
        /// suggests an Expires-like limit).
        case ringTime
        /// We are the refresher: send the next session refresh (RFC 4028 §7.4, half the interval).
        case sessionRefresh
        /// No refresh came in time: the session expired, send BYE (RFC 4028 §10).
        case sessionExpiry
    }

    /// What the application hears about, besides the end.
    public enum Event: Sendable, Equatable {
        /// Outgoing: a 101–199 response arrived (180 Ringing, 183 Session Progress, §13.2.2.1).
        case progress(statusCode: Int)
        /// Outgoing: the callee answered (2xx, §13.2.2.4); the ACK is sent.
        case answered
        /// Incoming: the ACK for our 2xx arrived (§13.3.1.4), or the ACK for our failure response when
        /// the session awaited it (§17.2.1), just before the end.
        case confirmed
    }

    /// Why a session ended.
    public enum EndReason: Sendable, Equatable {
        /// The remote side sent BYE (§15.1.2).
        case remoteHangUp
        /// We sent BYE (§15.1.1), or CANCEL before an answer.
        case localHangUp
        /// Incoming: the caller cancelled before we answered (§9.2); 487 was sent.
        case cancelled
        /// Incoming: we rejected with this status (§13.3.1.3).
        case rejected(statusCode: Int)
        /// Outgoing: the callee answered with a final failure (§13.2.2.3): busy 486/600, decline 603, …
        case failed(statusCode: Int, reason: String)
        /// Outgoing: no final answer within the ring time; the INVITE was cancelled (§9.1).
        case noAnswer
        /// No response at all (Timer B or F, §17.1.1.2), no ACK for our final response (Timer H,
        /// §17.2.1), or our 2xx got no ACK (§13.3.1.4).
        case timeout
        /// The transport failed (§17.1.4; treated as 503, §8.1.3.1).
        case transportError
        /// The endpoint shut down.
        case shutdown
    }

    /// How a session that is ending waits for the end.
    public enum Ending: Sendable, Equatable {
        /// Outgoing, no provisional response yet: CANCEL waits for one (§9.1); Timer B may end the
        /// INVITE first.
        case cancelPending
        /// Outgoing: CANCEL was sent; the 487 ends the session, a 2xx racing it is ACKed and BYEd
        /// (§9.1, §15).
        case cancelSent
        /// BYE was sent; its final response (or its timeout) ends the session (§15.1.1).
        case byeSent
        /// Incoming: our final failure response waits for its ACK (§17.2.1), which proves the caller
        /// received it at the address it gave, or for Timer H.
        case awaitingACK
    }
}
