// Building responses to requests (RFC 3261 §8.2.6.2) and requests (§8.1.1).

import NIOCore

extension SIPResponse {
    /// Makes a response to a request (RFC 3261 §8.2.6.2): copies every Via (in order), From, To,
    /// Call-ID and CSeq; adds `toTag` to To when To has no tag and the status is not 100; sets
    /// Content-Length: 0.
    public init(replyingTo request: SIPRequest, statusCode: Int, reasonPhrase: String? = nil, toTag: String? = nil) {
        self.init(replyingTo: request.headers, statusCode: statusCode, reasonPhrase: reasonPhrase, toTag: toTag)
    }

    /// Makes a response from the headers of a request (also those of a request that failed to
    /// parse: `SIPParseError.replyContext`), as `init(replyingTo:statusCode:…)`.
    public init(replyingTo requestHeaders: SIPHeaders, statusCode: Int, reasonPhrase: String? = nil, toTag: String? = nil) {
        var headers = SIPHeaders()
        headers.copy(.via, from: requestHeaders)
        headers.copy(.from, from: requestHeaders)
        if let toTag, statusCode != 100, let to = try? requestHeaders.to(), to.tag == nil, let raw = requestHeaders[.to] {
            // Append the tag to the To value as received (§8.2.6.2, §19.3).
            headers.add(.to, raw + ";tag=" + toTag)
        } else {
            headers.copy(.to, from: requestHeaders)
        }
        headers.copy(.callID, from: requestHeaders)
        headers.copy(.cseq, from: requestHeaders)
        headers.add(.contentLength, "0")
        self.init(statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers)
    }

    /// Makes the response a `RequestRejection` calls for: status, reason, and its extra headers
    /// (Allow, Unsupported, Accept, …).
    public init(replyingTo request: SIPRequest, rejection: RequestRejection, toTag: String? = nil) {
        self.init(replyingTo: request, statusCode: rejection.statusCode, reasonPhrase: rejection.reasonPhrase, toTag: toTag)
        for (name, value) in rejection.headers { headers.add(name, value) }
    }
}

extension SIPRequest {
    /// Makes a request with the mandatory headers of RFC 3261 §8.1.1 in the usual order:
    /// Via (with `branch`), Max-Forwards, From, To, Call-ID, CSeq, then Content-Length: 0.
    public init(method: SIPMethod, uri: SIPAnyURI, via: SIPVia, from: SIPNameAddress, to: SIPNameAddress, callID: String, cseq: UInt32, maxForwards: Int = 70, contact: SIPNameAddress? = nil) {
        var headers = SIPHeaders()
        headers.add(.via, via.description)
        headers.add(.maxForwards, String(maxForwards))
        headers.add(.from, from.description)
        headers.add(.to, to.description)
        headers.add(.callID, callID)
        headers.add(.cseq, SIPCSeq(cseq, method).description)
        if let contact { headers.add(.contact, contact.description) }
        headers.add(.contentLength, "0")
        self.init(method: method, uri: uri, headers: headers)
    }
}
