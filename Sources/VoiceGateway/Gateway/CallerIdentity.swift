// CallerIdentity: the caller's number and how far it can be trusted, from an INVITE
// (RFC 3325 P-Asserted-Identity and Privacy, RFC 3261 From, draft Remote-Party-ID), and the
// carrier's verstat of a trusted peer (CallerVerstat.swift).

import GatewayProtocol
import SIPMessage

/// The caller ID of an inbound call.
public struct CallerIdentity: Sendable, Equatable {
    /// The number as received (user part or tel: number, visual separators removed); nil when withheld.
    public var number: String?
    /// How it was learned.
    public var trust: CallerTrust
    /// The carrier's verification of the number (3GPP TS 24.229 §7.2A.20 `verstat`), from a trusted
    /// peer only (`Verstat.read(from:header:)`); nil when it sent none or the number is withheld.
    public var verstat: Verstat?
    /// A `verstat` an untrusted peer sent: never believed (anyone can write it), kept for the log.
    public var ignoredVerstat: Verstat?

    /// Reads the caller ID of `request` from a peer that is (or is not) trusted:
    /// - `Privacy: id` (RFC 3325 §9.3) or an anonymous identity → withheld;
    /// - a trusted peer's parsable P-Asserted-Identity with a number (preferring tel:) → asserted;
    /// - a trusted peer's From → asserted only when the peer is configured to vouch for it
    ///   (`trustFrom`, sip.conf `trust_from = yes`): From is the caller's own claim (RFC 3261 §8.1.1.3),
    ///   not an assertion (RFC 3325 §9.1), so by default it is unverified;
    /// - a P-Asserted-Identity that is present but unparsable, or has no number, asserts nothing: the
    ///   call falls back to From (or Remote-Party-ID), unverified — never asserted;
    /// - an untrusted peer's Remote-Party-ID (when `useRemotePartyID`) or From → unverified.
    /// The carrier's `verstat` (on P-Asserted-Identity or From, or in the header `verstatHeader`,
    /// sip.conf `verstat_header`) is read from a trusted peer only, and not for a withheld number.
    public init(request: SIPRequest, peerTrusted: Bool, useRemotePartyID: Bool = false, trustFrom: Bool = false, verstatHeader: SIPHeaderName? = nil) {
        self.init(reading: request, peerTrusted: peerTrusted, useRemotePartyID: useRemotePartyID, trustFrom: trustFrom)
        let verstat = Verstat.read(from: request, header: verstatHeader)
        if !peerTrusted {
            ignoredVerstat = verstat
        } else if trust != .withheld {
            self.verstat = verstat
        }
    }

    /// The number and its trust, without `verstat`.
    private init(reading request: SIPRequest, peerTrusted: Bool, useRemotePartyID: Bool, trustFrom: Bool) {
        let privacy = ((try? request.headers.privacy()) ?? []).map { $0.lowercased() }
        if privacy.contains("id") || privacy.contains("user") {
            self.init(number: nil, trust: .withheld)
            return
        }
        let hasAssertion = request.headers.contains(.pAssertedIdentity)
        let asserted = (try? request.headers.pAssertedIdentity()) ?? []
        let rpid = useRemotePartyID && !peerTrusted ? ((try? request.headers.remotePartyID()) ?? []) : []
        let from = (try? request.headers.from()).map { [$0] } ?? []
        if peerTrusted, !asserted.isEmpty {
            // An asserted identity without a number (anonymous, RFC 3325 §9.3) withholds it.
            let number = asserted.sorted(by: { a, _ in a.uri.scheme == "tel" }).lazy.compactMap(Self.number(of:)).first
            self.init(number: number, trust: number == nil ? .withheld : .asserted)
            return
        }
        let candidates = rpid + from
        guard let number = candidates.lazy.compactMap(Self.number(of:)).first else {
            self.init(number: nil, trust: .withheld)
            return
        }
        // A trusted peer vouches for its From only when told to, and never beside a broken assertion.
        let vouched = peerTrusted && trustFrom && !hasAssertion
        self.init(number: number, trust: vouched ? .asserted : .unverified)
    }

    /// Makes an identity.
    public init(number: String?, trust: CallerTrust, verstat: Verstat? = nil, ignoredVerstat: Verstat? = nil) {
        self.number = number
        self.trust = trust
        self.verstat = verstat
        self.ignoredVerstat = ignoredVerstat
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
