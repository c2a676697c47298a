// SIPTransportSink: how the NIO transports hand messages (and send failures, RFC 3261 §18.4) to the
// endpoint, and the reply a transport
// gives on its own to a request it could not parse (RFC 3261 §21.4.1, RFC 4475).

import NIOCore
import SIPMessage

/// Receives parsed messages from a transport, on the endpoint's event loop.
protocol SIPTransportSink: AnyObject, Sendable {
    /// A whole message arrived from `peer`.
    func messageReceived(_ message: SIPMessage, from peer: SIPPeer)
    /// Messages for `peer` could not be sent (over TCP: the connection could not be opened). RFC 3261
    /// §18.4 and §17.1.4: the transport reports the failure to the transactions waiting on that peer,
    /// which end with a transport error (the TU may then try the next destination, RFC 3263 §4.3).
    func sendFailed(to peer: SIPPeer, error: any Error)
}

extension SIPParseError {
    /// The response to send for a request that failed to parse, when there is one: the error must carry
    /// a status and the headers needed to reply (Via, From, To, Call-ID, CSeq), and the request must
    /// not be an ACK (§17.1.1.3: ACKs get no response). Garbage gets nil: drop it silently.
    var rejection: SIPResponse? {
        guard let status, let headers = replyContext, status >= 400 else { return nil }
        if let cseq = try? headers.cseq(), cseq.method == .ack { return nil }
        return SIPResponse(replyingTo: headers, statusCode: status, reasonPhrase: reasonPhrase.isEmpty ? nil : reasonPhrase)
    }
}
