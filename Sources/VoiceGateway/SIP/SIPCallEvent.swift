// SIPCallEvent: what happens to a call, as the endpoint reports it to the application
// (RFC 3261 §13 INVITE, §9 CANCEL, §15 BYE; RFC 6086 INFO).

import NIOCore
import SIPMessage

/// One thing that happened to a call, in order, on the call's `events` stream.
public enum SIPCallEvent: Sendable, Equatable {
    /// Outgoing: a provisional response arrived (180 Ringing, 183 Session Progress, §13.2.2.1).
    case progress(statusCode: Int)
    /// Outgoing: the callee answered (2xx, §13.2.2.4); the ACK is sent. Carries the SDP answer.
    case answered(sdp: ByteBuffer)
    /// Incoming: the caller's ACK for our 2xx arrived; the call is up (§13.3.1.4). Also the ACK of a
    /// rejection made with `awaitACK` (§17.2.1), just before `.ended(.rejected)`.
    case confirmed
    /// In-dialog INFO (RFC 6086 §4.2.2), answered 200; carries Content-Type and body (DTMF relay).
    case info(contentType: String?, body: ByteBuffer)
    /// A re-INVITE (hold, resume, new media) was answered with our current SDP (§14.2).
    case reinvited(offer: ByteBuffer)
    /// The call is over; no more events follow.
    case ended(SIPCallEnd)
}

/// Why a call ended.
public enum SIPCallEnd: Sendable, Equatable {
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
    /// No response at all (Timer B or F, §17.1.1.2), or our 2xx got no ACK (§13.3.1.4).
    case timeout
    /// The transport failed (§17.1.4; treated as 503, §8.1.3.1).
    case transportError
    /// The endpoint shut down.
    case shutdown
}

/// Whether a call was placed by us or came in.
public enum SIPCallDirection: Sendable, Equatable {
    /// A received INVITE (we are the UAS, §8.2).
    case incoming
    /// An INVITE we sent (we are the UAC, §8.1).
    case outgoing
}
