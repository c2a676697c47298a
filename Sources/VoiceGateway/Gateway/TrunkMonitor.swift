// TrunkMonitor: the gateway's trunks at run time (README "Connecting a trunk"): the next hops of a
// trunk whose host is a name (RFC 3263 §4 through the c-ares resolver, on its own thread, and a
// TTL cache), those names' addresses kept fresh as the trunks' inbound source addresses, and the
// `qualify` OPTIONS pings (RFC 3261 §11) whose outcomes TrunkAvailability turns into up and down.

import Logging
import NIOCore
import SIPMessage
import Synchronization

/// Resolves, refreshes and qualifies the trunks of one gateway.
public final class TrunkMonitor: Sendable {
    let trunks: [Trunk]
    let addresses: TrunkAddresses
    let endpoint: SIPEndpoint
    let logger: Logger
    /// RFC 3263 §4 over the cached resolver; nil when no trunk host is a name, or the resolver could
    /// not start (every name then fails with the logged reason).
    let locator: SIPServerLocator?
    private let resolver: DNSResolver?
    private let resolverError: DNSError?
    private let availability: Mutex<[String: TrunkAvailability]>

    /// Seconds between lookups of a name that failed (or resolved with TTL 0).
    static let retryAfterFailure: Duration = .seconds(30)
    /// Bounds on the refresh interval of a resolved name (its TTL).
    static let refreshBounds: ClosedRange<Duration> = .seconds(5)...(.seconds(3_600))

    /// A monitor of `configuration`'s trunks sending its pings through `endpoint`; starts a resolver
    /// (asking `configuration.dnsServer`, else the system's) when some trunk's host is a name.
    public init(configuration: GatewayConfiguration, endpoint: SIPEndpoint, logger: Logger) {
        trunks = configuration.trunks
        addresses = configuration.trunkAddresses
        self.endpoint = endpoint
        self.logger = logger
        availability = Mutex(Dictionary(uniqueKeysWithValues: configuration.trunks.filter { $0.qualify != nil }.map { ($0.name, TrunkAvailability()) }))
        guard configuration.trunks.contains(where: { $0.nextHop == nil }) else {
            (resolver, resolverError, locator) = (nil, nil, nil)
            return
        }
        do {
            let resolver = try DNSResolver(DNSResolver.Configuration(server: configuration.dnsServer))
            (self.resolver, resolverError, locator) = (resolver, nil, SIPServerLocator(dns: DNSCache(resolver)))
        } catch {
            logger.error("gateway.dns.unavailable", metadata: ["server": "\(configuration.dnsServer ?? "system")", "error": "\(error)"])
            (resolver, resolverError, locator) = (nil, error, nil)
        }
    }

    /// The next hops of `trunk` in the order to try them (`SIPServerLocator.nextHops(for:)`); a
    /// name's addresses also become the trunk's source addresses. Registration can use it too.
    public func nextHops(_ trunk: Trunk) async throws(DNSError) -> [SIPServerTarget] {
        if let hop = trunk.nextHop { return [SIPServerTarget(peer: hop, host: trunk.host, ttl: .max)] }
        guard let locator else { throw resolverError ?? .shutDown }
        let targets = try await locator.nextHops(for: trunk)
        addresses.update(trunk.name, targets)
        return targets
    }

    /// The qualified trunks that are down now (routing skips them, `OutboundAttempt.availableFirst`).
    public var downTrunks: Set<String> {
        availability.withLock { Set($0.filter { !$0.value.isUp }.keys) }
    }

    /// Each qualified trunk's state, for `/metrics` (`verigate_trunk_up`).
    public var qualifiedTrunks: [String: TrunkAvailability] {
        availability.withLock { $0 }
    }

    /// Keeps every name resolved and every qualified trunk pinged until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for trunk in trunks where trunk.nextHop == nil {
                group.addTask { await self.refresh(trunk) }
            }
            for trunk in trunks {
                guard let interval = trunk.qualify else { continue }
                group.addTask { await self.qualify(trunk, every: interval) }
            }
        }
        resolver?.shutdown()
    }

    /// Resolves `trunk`'s name again when its TTL runs out (the cache answers until then), so its
    /// inbound source addresses follow DNS; a failed lookup keeps the last addresses and is retried.
    private func refresh(_ trunk: Trunk) async {
        while !Task.isCancelled {
            var wait = Self.retryAfterFailure
            do {
                let targets = try await nextHops(trunk)
                let ttl = targets.map(\.ttl).min() ?? 0
                logger.debug("gateway.trunk.resolved", metadata: [
                    "trunk": "\(trunk.name)", "targets": "\(targets.map(\.description).joined(separator: ", "))", "ttl": "\(ttl)",
                ])
                if ttl > 0 { wait = min(max(.seconds(Int64(ttl)), Self.refreshBounds.lowerBound), Self.refreshBounds.upperBound) }
            } catch {
                logger.warning("gateway.trunk.dns_failed", metadata: [
                    "trunk": "\(trunk.name)", "host": "\(trunk.host)", "error": "\(error)", "kept": "\(addresses.addresses(of: trunk.name).sorted().joined(separator: ","))",
                ])
            }
            try? await Task.sleep(for: wait)
        }
    }

    /// Pings `trunk` with OPTIONS every `interval` (after each answer or miss) and records the outcome.
    private func qualify(_ trunk: Trunk, every interval: Duration) async {
        let uri = trunk.qualifyURI
        while !Task.isCancelled {
            let probe: TrunkAvailability.Probe
            var target = "-"
            do {
                guard let hop = try await nextHops(trunk).first, let uri else { throw DNSError.noRecords(trunk.host, .a) }
                target = "\(hop.peer)"
                switch await endpoint.options(uri, to: hop.peer) {
                case .response(let status): probe = .answered(status)
                case .failed(.shutdown): return
                case .failed: probe = .missed
                }
            } catch {
                logger.info("gateway.trunk.qualify_no_hop", metadata: ["trunk": "\(trunk.name)", "error": "\(error)"])
                probe = .missed
            }
            let change = availability.withLock { $0[trunk.name]?.record(probe, at: .now) }
            switch change {
            case .down(let misses):
                logger.warning("gateway.trunk.down", metadata: ["trunk": "\(trunk.name)", "target": "\(target)", "misses": "\(misses)"])
            case .up(let after):
                logger.notice("gateway.trunk.up", metadata: ["trunk": "\(trunk.name)", "target": "\(target)", "down_for": "\(after)", "status": "\(probe)"])
            case nil:
                logger.trace("gateway.trunk.qualified", metadata: ["trunk": "\(trunk.name)", "target": "\(target)", "probe": "\(probe)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}

extension Trunk {
    /// The Request-URI of a `qualify` OPTIONS: the trunk itself (`sip:host[:port]`, RFC 3261 §11.1).
    var qualifyURI: SIPAnyURI? {
        var text = "sip:\(uriHost)"
        if let port { text += ":\(port)" }
        if let transport, transport != .udp { text += ";transport=\(transport.rawValue)" }
        return try? SIPAnyURI(parsing: text)
    }
}
