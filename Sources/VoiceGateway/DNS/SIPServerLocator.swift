// SIPServerLocator: from a SIP URI's host, port and transport to the ordered next hops to try
// (RFC 3263 §4: NAPTR → SRV → A/AAAA). Only the next hop comes from DNS: the Request-URI and To
// keep the provider's host name.

import NIOCore

/// One next hop to try, in the order of the list `SIPServerLocator.locate` returns (RFC 3263 §4.3:
/// on a transport error, 503 or timeout the client moves to the next one).
public struct SIPServerTarget: Sendable, Hashable, CustomStringConvertible {
    /// Transport, IP address and port to send to.
    public var peer: SIPPeer
    /// The name the address was found for (the SRV target, or the URI's host).
    public var host: String
    /// Seconds this result stays valid: the smallest TTL along the NAPTR, SRV and A/AAAA chain.
    public var ttl: UInt32

    /// Creates a target.
    public init(peer: SIPPeer, host: String, ttl: UInt32) {
        self.peer = peer
        self.host = host
        self.ttl = ttl
    }

    /// `TRANSPORT ip:port (host)`.
    public var description: String { "\(peer) (\(host))" }
}

/// RFC 3263 §4 for the transports the endpoint speaks (`SIPTransportProtocol`: UDP, TCP; SIPS over
/// TLS once it exists), over any `DNSLookup` (give it a `DNSCache` to honour TTLs).
public struct SIPServerLocator: Sendable {
    /// The lookups (usually a `DNSCache` over a `DNSResolver`).
    public let dns: any DNSLookup
    /// The transports we support, in the order we prefer them when DNS does not order them
    /// (§4.1: SRV queries without NAPTR).
    public var transports: [SIPTransportProtocol]

    /// A locator over `dns`, preferring UDP then TCP.
    public init(dns: any DNSLookup, transports: [SIPTransportProtocol] = [.udp, .tcp]) {
        self.dns = dns
        self.transports = transports
    }

    /// The default port of SIP (RFC 3261 §19.1.2).
    public static let defaultPort = 5060

    /// The default port of `transport`: 5061 for TLS, else 5060 (RFC 3261 §19.1.2).
    public static func defaultPort(_ transport: SIPTransportProtocol) -> Int {
        transport == .tls ? 5061 : defaultPort
    }

    /// The NAPTR service of each transport (RFC 3263 §4.1, the registrations of its §10).
    static func naptrService(_ transport: SIPTransportProtocol) -> String {
        switch transport {
        case .udp: "SIP+D2U"
        case .tcp: "SIP+D2T"
        case .tls: "SIPS+D2T"
        }
    }

    /// The SRV name of `transport` at `host` (RFC 3263 §4.1, RFC 2782: `_sip._udp.host`).
    static func srvName(_ transport: SIPTransportProtocol, _ host: String) -> String {
        switch transport {
        case .udp: "_sip._udp.\(host)"
        case .tcp: "_sip._tcp.\(host)"
        case .tls: "_sips._tcp.\(host)"
        }
    }

    /// The next hops for a URI with `host`, optional `port` and optional `transport` parameter,
    /// in the order to try them (RFC 3263 §4):
    /// - a literal IP: itself (UDP and 5060 unless given; §4.1, §4.2);
    /// - a name with a port: its A then AAAA addresses at that port (§4.2), UDP unless given;
    /// - a name with a transport and no port: SRV of that transport (§4.2), else A/AAAA at 5060;
    /// - a name alone: NAPTR (§4.1) for the supported services with flag "s", by order then
    ///   preference, each replacement's SRV; without usable NAPTR, SRV for each supported
    ///   transport; without SRV, A/AAAA at 5060 over UDP.
    /// SRV sets are ordered by RFC 2782 (`SRVRecord.selectionOrder`) with `generator`.
    /// A name that has no such records moves to the next step; a server failure (timeout,
    /// REFUSED, SERVFAIL) ends the lookup with its error.
    public func locate(
        host: String, port: Int? = nil, transport: SIPTransportProtocol? = nil,
        using generator: inout some RandomNumberGenerator
    ) async throws(DNSError) -> [SIPServerTarget] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let literal = try? SocketAddress(ipAddress: bare, port: port ?? Self.defaultPort(transport ?? .udp)) {
            return [SIPServerTarget(peer: SIPPeer(transport ?? .udp, literal), host: bare, ttl: .max)]
        }
        if let port {
            return try await addressTargets(bare, port: port, transport: transport ?? .udp, ttl: .max)
        }
        if let transport {
            var targets = try await srvTargets(Self.srvName(transport, bare), transport: transport, ttl: .max, using: &generator)
            if targets.isEmpty { targets = try await addressTargets(bare, port: Self.defaultPort(transport), transport: transport, ttl: .max) }
            return targets
        }
        var targets = try await naptrTargets(bare, using: &generator)
        if targets.isEmpty {
            for transport in transports {
                targets += try await srvTargets(Self.srvName(transport, bare), transport: transport, ttl: .max, using: &generator)
            }
        }
        if targets.isEmpty {
            targets = try await addressTargets(bare, port: Self.defaultPort, transport: .udp, ttl: .max)
        }
        return targets
    }

    /// `locate` with the system's random number generator.
    public func locate(host: String, port: Int? = nil, transport: SIPTransportProtocol? = nil) async throws(DNSError) -> [SIPServerTarget] {
        var generator = SystemRandomNumberGenerator()
        return try await locate(host: host, port: port, transport: transport, using: &generator)
    }

    /// §4.1: the targets of the usable NAPTR records, or none when there are none.
    private func naptrTargets(_ host: String, using generator: inout some RandomNumberGenerator) async throws(DNSError) -> [SIPServerTarget] {
        let set: DNSRecordSet<NAPTRRecord>
        do { set = try await dns.naptr(host) } catch where error.isAbsence { return [] }
        let usable = set.records
            .filter { $0.flags.lowercased() == "s" && !$0.replacement.isEmpty }
            .compactMap { record in transports.first { Self.naptrService($0) == record.service.uppercased() }.map { (record, $0) } }
            .sorted { ($0.0.order, $0.0.preference) < ($1.0.order, $1.0.preference) }
        var targets: [SIPServerTarget] = []
        for (record, transport) in usable {
            for target in try await srvTargets(record.replacement, transport: transport, ttl: set.ttl, using: &generator) where !targets.contains(target) {
                targets.append(target)
            }
        }
        return targets
    }

    /// The SRV set at `name` in RFC 2782 order, each target's addresses; none when `name` has no
    /// SRV records or none of its targets has an address.
    private func srvTargets(_ name: String, transport: SIPTransportProtocol, ttl: UInt32, using generator: inout some RandomNumberGenerator) async throws(DNSError) -> [SIPServerTarget] {
        let set: DNSRecordSet<SRVRecord>
        do { set = try await dns.srv(name) } catch where error.isAbsence { return [] }
        if set.records.allSatisfy({ $0.target.isEmpty || $0.target == "." }) { throw .serviceNotOffered(name) }
        var targets: [SIPServerTarget] = []
        for record in SRVRecord.selectionOrder(set.records, using: &generator) {
            do {
                targets += try await addressTargets(record.target, port: Int(record.port), transport: transport, ttl: min(ttl, set.ttl))
            } catch where error.isAbsence {
                continue
            }
        }
        return targets
    }

    /// `host`'s A then AAAA addresses at `port`; the A lookup's error when neither has any.
    private func addressTargets(_ host: String, port: Int, transport: SIPTransportProtocol, ttl: UInt32) async throws(DNSError) -> [SIPServerTarget] {
        var targets: [SIPServerTarget] = []
        var firstAbsence: DNSError?
        for type in [DNSRecordType.a, .aaaa] {
            do {
                let set = try await dns.addresses(host, type)
                for address in set.records {
                    guard let socket = try? SocketAddress(ipAddress: address, port: port) else { continue }
                    targets.append(SIPServerTarget(peer: SIPPeer(transport, socket), host: host, ttl: min(ttl, set.ttl)))
                }
            } catch where error.isAbsence {
                if firstAbsence == nil { firstAbsence = error }
            }
        }
        if targets.isEmpty, let firstAbsence { throw firstAbsence }
        return targets
    }
}
