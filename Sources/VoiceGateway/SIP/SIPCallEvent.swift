// SIPCallEvent: what happens to a call, as the endpoint reports it to the application
// (RFC 3261 §13 INVITE, §9 CANCEL, §15 BYE; RFC 6086 INFO).

import NIOCore
import SIPMessage
import SIPStack

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

/// Why a call ended: the session's end reason (remote or local hang-up, cancelled, rejected, failed,
/// no answer, timeout, transport error, shutdown).
public typealias SIPCallEnd = InviteSession.EndReason

/// Whether a call was placed by us (`.outgoing`, UAC §8.1) or came in (`.incoming`, UAS §8.2).
public typealias SIPCallDirection = InviteSession.Direction
