// Retrying a request with credentials after 401/407 (RFC 3261 §22.2, §22.3, §8.1.3.5).

import SIPMessage

extension DigestClient {
    /// Builds the retry of `request` answering the 401 or 407 `response` (RFC 3261 §22.2, §22.3):
    /// the strongest usable challenge from WWW-Authenticate (401) or Proxy-Authenticate (407) is
    /// answered in Authorization or Proxy-Authorization; CSeq is incremented, the top Via gets the new
    /// `branch` (a new transaction, §8.1.3.5), Call-ID, From tag and body stay.
    public mutating func retry(_ request: SIPRequest, answering response: SIPResponse, branch: String, cnonce: String) throws(SIPStackError) -> SIPRequest {
        let isProxy = response.statusCode == 407
        let values: [SIPAuthValue]
        do {
            values = isProxy ? try response.headers.proxyAuthenticate() : try response.headers.wwwAuthenticate()
        } catch {
            throw SIPStackError(.malformedDigestHeader, "challenge unreadable: \(error)")
        }
        var challenges: [DigestChallenge] = []
        for value in values where value.scheme.lowercased() == "digest" {
            challenges.append(try DigestChallenge(value))
        }
        let challenge = try Self.choose(from: challenges)
        let credentials = try credentials(for: challenge, method: request.method.description, uri: request.uriText, cnonce: cnonce)
        var retry = request
        guard var via = try? request.headers.topVia(), let cseq = try? request.headers.cseq() else {
            throw SIPStackError(.missingHeader, "request lacks Via or CSeq")
        }
        via.branch = branch
        retry.headers.removeFirst(.via)
        retry.headers.addFirst(.via, via.description)
        retry.headers.replaceOrAdd(.cseq, SIPCSeq(cseq.sequence &+ 1, cseq.method).description)
        let header: SIPHeaderName = isProxy ? .proxyAuthorization : .authorization
        retry.headers.remove(header)
        retry.headers.add(header, credentials.headerValue)
        return retry
    }
}
