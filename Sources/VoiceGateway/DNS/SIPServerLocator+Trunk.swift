// A trunk's next hops (RFC 3263 §4): what outbound calls, qualify pings and registration send to.
// Only the next hop comes from DNS: the Request-URI and To keep the trunk's host name.

extension SIPServerLocator {
    /// The next hops of `trunk`, in the order to try them (RFC 3263 §4.3): its `outbound_proxy`
    /// alone when set (§8.1.2 of RFC 3261), a literal IP host itself (5060 unless given), else
    /// `locate(host:port:transport:)` of its host name with its port and transport as given
    /// (§4.1/§4.2: a port skips NAPTR and SRV; a transport skips NAPTR). Throws the lookup's
    /// error when the name gives no address (NXDOMAIN, no records, a server failure).
    public func nextHops(for trunk: Trunk) async throws(DNSError) -> [SIPServerTarget] {
        if let hop = trunk.nextHop { return [SIPServerTarget(peer: hop, host: trunk.outboundProxy?.ipAddress ?? trunk.host, ttl: .max)] }
        // RFC 5922 §7.2: over TLS the server's certificate must name the trunk's host (the SIP
        // domain asked for), not an SRV target or the resolved address.
        return try await locate(host: trunk.host, port: trunk.port, transport: trunk.transport?.sipTransport).map { target in
            guard target.peer.transport == .tls else { return target }
            var target = target
            target.peer.serverName = trunk.host
            return target
        }
    }
}
