// GatewayPeer: a `[peer]` section of sip.conf — where calls come from, whether their caller ID is
// trusted, and which region their national numbers belong to.

import NIOCore
import RTP
import SIPMessage

/// What proves an inbound call's caller is really at the address its INVITE came from, before a
/// call-in verification is approved (or a code said) on its caller ID.
public enum ApprovalProof: String, Sendable, Equatable {
    /// The INVITE itself: right for connection-oriented transports, where the TCP (or TLS) handshake
    /// already proved the round trip, or for a UDP peer on a network no one else can send from.
    case invite
    /// The ACK of our final response, carrying our To tag (RFC 3261 §17.2.1; for answered calls the
    /// ACK of our 200, §13.3.1.4). Our responses go to the INVITE's Via/source (§18.2.2), so a
    /// forged datagram never sees the tag and can never make this ACK.
    case ack
}

/// A SIP peer (trunk, PBX, test tool) known by its source addresses.
public struct GatewayPeer: Sendable, Equatable {
    /// The section name.
    public var name: String
    /// Source addresses (CIDR, RFC 4632) calls from this peer come from.
    public var networks: [IPNetwork]
    /// Whether the peer is in our trust domain: its P-Asserted-Identity is believed (RFC 3325 §4).
    public var trusted: Bool
    /// Region for national caller numbers from this peer (ISO 3166 alpha-2).
    public var region: String
    /// Read Remote-Party-ID from this peer when untrusted.
    public var useRemotePartyID: Bool
    /// A trusted peer's From counts as asserted when it sends no P-Asserted-Identity (sip.conf
    /// `trust_from`); off by default: From is the caller's own claim (RFC 3325 §9.1).
    public var trustFrom: Bool
    /// What proves the round trip before approval (sip.conf `approve_on`); nil: the ACK over UDP,
    /// the INVITE over TCP (see `ApprovalProof`).
    public var approveOn: ApprovalProof?
    /// Whose RTP is heard and where ours goes when it does not come from the SDP's address (sip.conf
    /// `media_latching`, RFC 4961); `.off` by default.
    public var mediaLatching: RTPLatching = .off
    /// A header carrying the carrier's `verstat` besides the URI parameter (sip.conf `verstat_header`,
    /// e.g. `X-Twilio-VerStat`); read only when the peer is trusted. nil: the URI parameter only.
    public var verstatHeader: SIPHeaderName?
    /// Mutual TLS (sip.conf `tls_client_identity`, RFC 5922 §7.3): calls are this peer's only over a
    /// TLS connection whose client certificate, verified against `tls_ca_file`, has this SAN
    /// dNSName (and, when `networks` is not empty, from one of them); an address alone never is.
    public var tlsClientIdentity: String?
    /// SRTP settings (sip.conf `media_encryption`, `srtp`, `sdes_over_insecure_transport`); unset keys take `[general]`'s.
    public var mediaSecurity = MediaSecurity()

    /// Makes a peer.
    public init(name: String, networks: [IPNetwork], trusted: Bool = false, region: String = "TW", useRemotePartyID: Bool = false,
                trustFrom: Bool = false, approveOn: ApprovalProof? = nil) {
        self.trustFrom = trustFrom
        self.approveOn = approveOn
        self.name = name
        self.networks = networks
        self.trusted = trusted
        self.region = region
        self.useRemotePartyID = useRemotePartyID
    }

    /// Whether a packet from `address` comes from this peer (never for a peer known by its client
    /// certificate: see `matches(_:)` with the whole `SIPPeer`).
    public func matches(_ address: SocketAddress) -> Bool { tlsClientIdentity == nil && networks.contains { $0.contains(address) } }

    /// Whether a message from `remote` comes from this peer: by its address, or for a peer with
    /// `tlsClientIdentity` by the verified client certificate of its TLS connection.
    public func matches(_ remote: SIPPeer) -> Bool {
        guard let identity = tlsClientIdentity else { return matches(remote.address) }
        return remote.transport == .tls && remote.tlsIdentities.contains(identity)
            && (networks.isEmpty || networks.contains { $0.contains(remote.address) })
    }
}

extension GatewayConfiguration {
    /// The first peer or trunk section (file order) `address` belongs to: by its networks, or by
    /// the addresses its trunk's host name resolved to (`trunkAddresses`, RFC 3263).
    public func peer(for address: SocketAddress) -> GatewayPeer? {
        peers.first { $0.matches(address) || trunkAddresses.contains($0.name, address) }
    }

    /// The first peer or trunk section a message from `remote` belongs to: as `peer(for:)`, and a
    /// peer with `tls_client_identity` by the verified client certificate of `remote`'s TLS
    /// connection (RFC 5922 §7.3).
    public func peer(for remote: SIPPeer) -> GatewayPeer? {
        peers.first { $0.matches(remote) || trunkAddresses.contains($0.name, remote.address) }
    }

    /// The media latching of calls with the SIP peer `remote`: the first matching peer's, else off.
    public func mediaLatching(for remote: SIPPeer) -> RTPLatching {
        peer(for: remote)?.mediaLatching ?? .off
    }
}

/// How the gateway reads and proves the caller ID of calls from one source.
public struct CallerPolicy: Sendable, Equatable {
    /// P-Asserted-Identity is believed (RFC 3325 §4).
    public var trusted: Bool
    /// Region for national numbers.
    public var region: String
    /// Read Remote-Party-ID when untrusted.
    public var useRemotePartyID: Bool
    /// From counts as asserted without P-Asserted-Identity.
    public var trustFrom: Bool
    /// The configured proof; nil: by transport.
    public var approveOn: ApprovalProof?
    /// The header carrying the carrier's `verstat`, if the peer names one.
    public var verstatHeader: SIPHeaderName?

    /// The proof needed for a call over a transport that is (or is not) reliable: as configured,
    /// else the ACK over UDP and the INVITE over TCP (the handshake proved the address).
    public func proof(reliableTransport: Bool) -> ApprovalProof {
        approveOn ?? (reliableTransport ? .invite : .ack)
    }
}

extension GatewayConfiguration {
    /// How to read the caller ID of a call from `address`: the peer of `trunk` (the call's trunk,
    /// `trunk(for:requestURI:)`) when it matches, else the first peer that matches decides;
    /// otherwise `trustedPeers`, `region` and `useRemotePartyID` of the whole gateway (From not
    /// trusted, approval proof by transport).
    public func callerPolicy(for address: SocketAddress, trunk: Trunk? = nil) -> CallerPolicy {
        callerPolicy(for: SIPPeer(.udp, address), trunk: trunk)
    }

    /// `callerPolicy(for:trunk:)` for a message from `remote`: a peer with `tls_client_identity`
    /// decides only for a TLS connection whose verified client certificate names it.
    public func callerPolicy(for remote: SIPPeer, trunk: Trunk? = nil) -> CallerPolicy {
        let address = remote.address
        let named = trunk.flatMap { trunk in peers.first { $0.name == trunk.name && ($0.matches(address) || trunkAddresses.contains($0.name, address)) } }
        if let peer = named ?? peer(for: remote) {
            return CallerPolicy(trusted: peer.trusted, region: peer.region, useRemotePartyID: peer.useRemotePartyID, trustFrom: peer.trustFrom, approveOn: peer.approveOn,
                                verstatHeader: peer.verstatHeader)
        }
        return CallerPolicy(trusted: trustedPeers.contains { $0.contains(address) }, region: region, useRemotePartyID: useRemotePartyID, trustFrom: false, approveOn: nil)
    }
}
