// GatewayPeer: a `[peer]` section of sip.conf — where calls come from, whether their caller ID is
// trusted, and which region their national numbers belong to.

import NIOCore

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

    /// Makes a peer.
    public init(name: String, networks: [IPNetwork], trusted: Bool = false, region: String = "TW", useRemotePartyID: Bool = false) {
        self.name = name
        self.networks = networks
        self.trusted = trusted
        self.region = region
        self.useRemotePartyID = useRemotePartyID
    }

    /// Whether a packet from `address` comes from this peer.
    public func matches(_ address: SocketAddress) -> Bool { networks.contains { $0.contains(address) } }
}

extension GatewayConfiguration {
    /// How to read the caller ID of a call from `address`: the first peer that matches decides;
    /// otherwise `trustedPeers`, `region` and `useRemotePartyID` of the whole gateway.
    public func callerPolicy(for address: SocketAddress) -> (trusted: Bool, region: String, useRemotePartyID: Bool) {
        if let peer = peers.first(where: { $0.matches(address) }) {
            return (peer.trusted, peer.region, peer.useRemotePartyID)
        }
        return (trustedPeers.contains { $0.contains(address) }, region, useRemotePartyID)
    }
}
