// SIPCall: the application's handle on one call (incoming or outgoing).

import NIOCore
import SIPMessage

/// One call. Answer, ring or reject an incoming one; hang up either; read what happens on `events`
/// (which ends with `.ended`). The methods may be called from any task.
public final class SIPCall: Sendable {
    private let endpoint: SIPEndpoint
    let key: SIPCallKey
    /// Who placed the call.
    public let direction: SIPCallDirection
    /// The INVITE as received (incoming) or first sent (outgoing).
    public let request: SIPRequest
    /// The peer the INVITE came from or went to.
    public let remote: SIPPeer
    /// What happens to the call, in order; finishes after `.ended`.
    public let events: AsyncStream<SIPCallEvent>

    init(endpoint: SIPEndpoint, key: SIPCallKey, direction: SIPCallDirection, request: SIPRequest, remote: SIPPeer, events: AsyncStream<SIPCallEvent>) {
        self.endpoint = endpoint
        self.key = key
        self.direction = direction
        self.request = request
        self.remote = remote
        self.events = events
    }

    /// The Call-ID (§8.1.1.4).
    public var callID: String { key.callID }

    /// The SDP offer of an incoming INVITE (empty when it had none).
    public var offer: ByteBuffer { request.body }

    /// Incoming: sends 180 Ringing (or another provisional status 101–199, with early media SDP for
    /// 183; others are ignored), creating the early dialog (RFC 3261 §13.3.1.1).
    public func ring(statusCode: Int = 180, sdp: ByteBuffer? = nil) {
        endpoint.eventLoop.execute { self.endpoint.provisional(self.key, statusCode: statusCode, sdp: sdp) }
    }

    /// Incoming: answers with 200 OK and our SDP; `.confirmed` follows when the ACK arrives.
    public func answer(sdp: ByteBuffer) {
        endpoint.eventLoop.execute { self.endpoint.answer(self.key, sdp: sdp) }
    }

    /// Incoming: refuses the call with a final status (e.g. 404, 486, 488, 603) and extra headers.
    public func reject(statusCode: Int, reasonPhrase: String? = nil, headers: [(SIPHeaderName, String)] = []) {
        let headers = headers.map { HeaderPair(name: $0.0, value: $0.1) }
        endpoint.eventLoop.execute { self.endpoint.reject(self.key, statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers.map { ($0.name, $0.value) }) }
    }

    /// Incoming: from now on a final failure response (our rejection, or 487 after the caller's
    /// CANCEL) ends the call only at its ACK — `.confirmed`, then `.ended` — or at Timer H
    /// (`.ended(.timeout)`). The ACK carries our To tag, so it proves the caller received our
    /// response at the address it gave (RFC 3261 §17.2.1, §18.2.2).
    public func awaitFinalACK() {
        endpoint.eventLoop.execute { self.endpoint.awaitFinalACK(self.key) }
    }

    /// Sends INFO in the call's dialog (RFC 6086), e.g. `application/dtmf-relay` keys.
    public func sendInfo(body: ByteBuffer, contentType: String) {
        endpoint.eventLoop.execute { try? self.endpoint.sendInDialog(self.key, method: .info, body: body, contentType: contentType) }
    }

    /// Ends the call: BYE when it is up, CANCEL when an outgoing call still rings, 480 for an incoming
    /// call not answered yet.
    public func hangUp() {
        endpoint.eventLoop.execute { self.endpoint.hangUp(self.key) }
    }
}

/// A header name and value, Sendable across the hop to the loop.
private struct HeaderPair: Sendable {
    var name: SIPHeaderName
    var value: String
}
