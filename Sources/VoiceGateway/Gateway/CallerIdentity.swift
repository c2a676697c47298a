// CallerIdentity: the caller's number and how far it can be trusted, from an INVITE
// (RFC 3325 P-Asserted-Identity and Privacy, RFC 3261 From, draft Remote-Party-ID).

import GatewayProtocol
import SIPMessage

/// The caller ID of an inbound call.
public struct CallerIdentity: Sendable, Equatable {
    /// The number as received (user part or tel: number, visual separators removed); nil when withheld.
    public var number: String?
    /// How it was learned.
    public var trust: CallerTrust

    /// Reads the caller ID of `request` from a peer that is (or is not) trusted:
    /// - `Privacy: id` (RFC 3325 §9.3) or an anonymous identity → withheld;
    /// - a trusted peer's P-Asserted-Identity (preferring tel:) → asserted; with none, its From → asserted
    ///   (the trusted peer vouches for what it sends);
    /// - an untrusted peer's Remote-Party-ID (when `useRemotePartyID`) or From → unverified.
    public init(request: SIPRequest, peerTrusted: Bool, useRemotePartyID: Bool = false) {
        let privacy = ((try? request.headers.privacy()) ?? []).map { $0.lowercased() }
        if privacy.contains("id") || privacy.contains("user") {
            self.init(number: nil, trust: .withheld)
            return
        }
        let asserted = (try? request.headers.pAssertedIdentity()) ?? []
        let rpid = useRemotePartyID ? ((try? request.headers.remotePartyID()) ?? []) : []
        let from = (try? request.headers.from()).map { [$0] } ?? []
        let candidates: [SIPNameAddress]
        let trust: CallerTrust
        if peerTrusted, !asserted.isEmpty {
            candidates = asserted.sorted { a, _ in a.uri.scheme == "tel" }
            trust = .asserted
        } else if peerTrusted {
            candidates = from
            trust = .asserted
        } else {
            candidates = rpid + from
            trust = .unverified
        }
        guard let number = candidates.lazy.compactMap(Self.number(of:)).first else {
            self.init(number: nil, trust: .withheld)
            return
        }
        self.init(number: number, trust: trust)
    }

    /// Makes an identity.
    public init(number: String?, trust: CallerTrust) {
        self.number = number
        self.trust = trust
    }

    /// The digits of a tel: URI or of a SIP URI's user part; nil for anonymous identities and users
    /// that are not numbers.
    static func number(of address: SIPNameAddress) -> String? {
        let raw: String
        switch address.uri {
        case .tel(let tel):
            raw = tel.number
        case .sip(let sip):
            if sip.host.lowercased() == "anonymous.invalid" { return nil }
            guard let user = sip.user else { return nil }
            raw = String(user.split(separator: ";").first ?? "")
        case .absolute:
            return nil
        }
        let cleaned = raw.filter { !"-.() ".contains($0) }
        guard !cleaned.isEmpty, cleaned.allSatisfy({ $0.isNumber || $0 == "+" }), cleaned.dropFirst().allSatisfy(\.isNumber) else { return nil }
        return cleaned
    }

    /// The called number: the Request-URI's user part (or tel: number).
    public static func calledNumber(of request: SIPRequest) -> String? {
        guard let uri = try? request.uri() else { return nil }
        return number(of: SIPNameAddress(uri: uri))
    }
}
