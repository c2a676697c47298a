// The per-transaction and per-call records a SIPEndpoint keeps on its event loop.

import NIOCore
import SIPMessage
import SIPStack

/// A call's identity inside the endpoint: Call-ID and our tag (§12: the dialog ID without the remote
/// tag, which an outgoing call learns only from the answer).
struct SIPCallKey: Sendable, Hashable {
    var callID: String
    var localTag: String
}

/// A live server transaction (§17.2) with the request that made it and the last response given.
struct ServerEntry: Sendable {
    var machine: ServerTransaction
    let request: SIPRequest
    let peer: SIPPeer
    var lastResponse: SIPResponse?
    var timers: [TransactionTimer: Scheduled<Void>] = [:]
    var tryingTimer: Scheduled<Void>?
    /// The call an INVITE created, for CANCEL and Timer H.
    var callKey: SIPCallKey?

    func cancelTimers() {
        for timer in timers.values { timer.cancel() }
        tryingTimer?.cancel()
    }
}

/// What a client transaction was started for; its final outcome goes there.
enum ClientPurpose: Sendable {
    /// The INVITE of an outgoing call.
    case invite(SIPCallKey)
    /// CANCEL or BYE of a call; the outcome only frees state.
    case cancel(SIPCallKey)
    /// BYE of a call: its end ends the call.
    case bye(SIPCallKey)
    /// A session refresh (UPDATE or re-INVITE, RFC 4028 §7.4) of a call: its outcome goes to the
    /// session; a 2xx to a re-INVITE is ACKed.
    case refresh(SIPCallKey)
    /// A request outside any call (REGISTER, RFC 3261 §10; OPTIONS, §11): its final response or failure goes to
    /// the handler, once, on the loop.
    case request(@Sendable (SIPClientOutcome) -> Void)
}

/// The end of a client transaction for a request outside calls.
enum SIPClientOutcome: Sendable {
    /// The final response (§17.1.2.2).
    case response(SIPResponse)
    /// No final response before Timer F (§17.1.2.2).
    case timeout
    /// The transport failed (§17.1.4).
    case transportError
}

/// A live client transaction (§17.1) with the request it sends.
struct ClientEntry: Sendable {
    var machine: ClientTransaction
    let request: SIPRequest
    let peer: SIPPeer
    var lastResponse: SIPResponse?
    var timers: [TransactionTimer: Scheduled<Void>] = [:]
    let purpose: ClientPurpose

    func cancelTimers() {
        for timer in timers.values { timer.cancel() }
    }
}

/// A call in progress: its INVITE session (the protocol decisions, `InviteSession`) and the I/O
/// handles the endpoint keeps for it — the messages it resends, timers, media bodies and the
/// application's event stream.
struct CallState: Sendable {
    /// The session value; the endpoint only runs the actions it returns.
    var session: InviteSession
    /// The INVITE (for outgoing calls: the latest, after authentication).
    var invite: SIPRequest
    /// The INVITE's transaction key.
    var inviteKey: TransactionKey
    /// Where the INVITE came from or went to.
    let peer: SIPPeer
    /// Our SDP: sent with the INVITE or the 2xx, and in the 2xx to a re-INVITE (§14.2).
    var localSDP: ByteBuffer?
    let continuation: AsyncStream<SIPCallEvent>.Continuation
    /// Incoming: the 2xx we resend until the ACK (§13.3.1.4).
    var successResponse: SIPResponse?
    var successRetransmission: SuccessResponseRetransmission?
    var successTimers: [SuccessResponseRetransmission.Timer: Scheduled<Void>] = [:]
    /// Outgoing: the ACK we sent for the 2xx, resent for every retransmitted 2xx (§13.2.2.4).
    var ackForSuccess: SIPRequest?
    var ackPeer: SIPPeer?
    /// Outgoing: digest credentials for one 401/407 (§22.2); the session decides when to use them.
    var credentials: DigestClient?
    /// The session's timers (`InviteSession.Timer`).
    var sessionTimers: [InviteSession.Timer: Scheduled<Void>] = [:]

    func cancelTimers() {
        for timer in successTimers.values { timer.cancel() }
        for timer in sessionTimers.values { timer.cancel() }
    }
}
