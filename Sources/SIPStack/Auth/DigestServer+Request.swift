// Challenging and checking SIP requests with DigestServer (RFC 3261 §22.1, §22.3, §22.4).

import SIPMessage

extension DigestServer {
    /// The 401 (UAS, WWW-Authenticate) or 407 (proxy, Proxy-Authenticate) challenging `request`
    /// (RFC 3261 §22.1, §22.3), one challenge per offered algorithm (RFC 8760 §2.3); `stale` after a
    /// `.stale` verdict (RFC 7616 §3.3).
    public func challengeResponse(to request: SIPRequest, proxy: Bool = false, toTag: String, now: Duration, stale: Bool = false, using generator: inout some RandomNumberGenerator) -> SIPResponse {
        var response = SIPResponse(replyingTo: request, statusCode: proxy ? 407 : 401, toTag: toTag)
        for challenge in challenges(now: now, stale: stale, using: &generator) {
            response.headers.add(proxy ? .proxyAuthenticate : .wwwAuthenticate, challenge.headerValue)
        }
        return response
    }

    /// Checks the Authorization (or Proxy-Authorization) credentials of `request` for our realm
    /// (RFC 3261 §22.4); `password` looks the user up (nil: unknown). No credentials for our realm, or
    /// unreadable ones, give `.rejected(.unknownNonce)`, which calls for a fresh challenge.
    public mutating func verify(_ request: SIPRequest, proxy: Bool = false, now: Duration, password: (String) -> String?) -> DigestVerdict {
        let values = (try? (proxy ? request.headers.proxyAuthorization() : request.headers.authorization())) ?? []
        for value in values where value.scheme.lowercased() == "digest" {
            guard let credentials = try? DigestCredentials(value), credentials.realm == realm else { continue }
            return verify(credentials, method: request.method.description, requestURI: request.uriText, password: password(credentials.username), now: now)
        }
        return .rejected(.unknownNonce)
    }
}
