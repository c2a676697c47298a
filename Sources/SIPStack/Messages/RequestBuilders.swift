// Requests a transaction or UAC core derives from another: the ACK for a non-2xx final response
// (RFC 3261 §17.1.1.3) and CANCEL (§9.1).

import SIPMessage

/// Builders for requests derived from an INVITE (RFC 3261 §9.1, §17.1.1.3).
public enum RequestBuilders {
    /// The ACK for a non-2xx final response, built by the INVITE client transaction (§17.1.1.3):
    /// Request-URI, Call-ID, From, CSeq number and the top Via of the INVITE, To of the response,
    /// CSeq method ACK, the INVITE's Route headers, no body.
    public static func ackForNonSuccess(invite: SIPRequest, response: SIPResponse) -> SIPRequest {
        derived(from: invite, method: .ack, toFrom: response.headers)
    }

    /// The CANCEL for a pending INVITE (§9.1): same Request-URI, Call-ID, To, From and CSeq number,
    /// method CANCEL, one Via equal to the INVITE's top Via (same branch), the INVITE's Route headers.
    public static func cancel(for invite: SIPRequest) -> SIPRequest {
        derived(from: invite, method: .cancel, toFrom: invite.headers)
    }

    /// A request sharing the INVITE's Request-URI, top Via, From, Call-ID, CSeq number and Route, with
    /// To taken from `toSource`, no body.
    private static func derived(from invite: SIPRequest, method: SIPMethod, toFrom toSource: SIPHeaders) -> SIPRequest {
        var headers = SIPHeaders()
        if let topVia = try? invite.headers.topVia() { headers.add(.via, topVia.description) }
        headers.add(.maxForwards, "70")
        headers.copy(.from, from: invite.headers)
        headers.copy(.to, from: toSource)
        headers.copy(.callID, from: invite.headers)
        let number = (try? invite.headers.cseq().sequence) ?? 0
        headers.add(.cseq, SIPCSeq(number, method).description)
        headers.copy(.route, from: invite.headers)
        headers.add(.contentLength, "0")
        return SIPRequest(method: method, uriText: invite.uriText, headers: headers)
    }
}
