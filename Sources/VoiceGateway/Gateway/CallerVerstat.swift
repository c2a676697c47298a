// CallerVerstat: the carrier's verification of the caller's number as a trusted peer or trunk
// reports it — the `verstat` URI parameter of 3GPP TS 24.229 §7.2A.20 on P-Asserted-Identity
// (RFC 3325) or From, and a header some carriers use instead (sip.conf `verstat_header`, e.g.
// `X-Twilio-VerStat`). README "Caller ID from carriers (verstat)".

import ABNF
import GatewayProtocol
import SIPMessage

extension Verstat {
    /// The carrier's verdict in `request`, read from every place it may be, whoever sent it (trust is
    /// the caller's decision, `CallerIdentity`): the `verstat` parameter of each P-Asserted-Identity
    /// URI and of the From URI, and each comma-separated value of the header `header` (when set).
    /// The rule, for values that disagree or are hostile:
    /// - any `TN-Validation-Failed` wins: one source saying the number is spoofed is enough;
    /// - otherwise `TN-Validation-Passed` only when every value present is Passed;
    /// - any other value (unknown, empty, overlong, valueless parameter) counts as `No-TN-Validation`,
    ///   so it can never make a Passed out of a mix;
    /// - nil when no source carries a value.
    public static func read(from request: SIPRequest, header: SIPHeaderName? = nil) -> Verstat? {
        var values: [Verstat] = []
        let identities = ((try? request.headers.pAssertedIdentity()) ?? []) + ((try? request.headers.from()).map { [$0] } ?? [])
        for identity in identities {
            for parameter in identity.uri.parameters where parameter.name.lowercased() == "verstat" {
                values.append(parameter.value.flatMap { Verstat(token: $0) } ?? .notValidated)
            }
        }
        if let header {
            for row in request.headers.values(header) {
                for item in row.split(separator: ",", omittingEmptySubsequences: false) {
                    values.append(Verstat(token: item.trimmingWSP) ?? .notValidated)
                }
            }
        }
        return combine(values)
    }

    /// The verdict of several values: any Failed wins; Passed only when all are Passed; nil for none.
    static func combine(_ values: [Verstat]) -> Verstat? {
        guard !values.isEmpty else { return nil }
        if values.contains(.failed) { return .failed }
        return values.allSatisfy { $0 == .passed } ? .passed : .notValidated
    }
}

extension SIPAnyURI {
    /// The URI's parameters (`;name=value` of a SIP or tel URI, RFC 3261 §19.1.1, RFC 3966 §3);
    /// none for other schemes.
    var parameters: SIPParameters {
        switch self {
        case .sip(let uri): uri.parameters
        case .tel(let uri): uri.parameters
        case .absolute: []
        }
    }
}
