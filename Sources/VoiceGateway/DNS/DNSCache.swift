// DNSCache: answers kept for their TTL (RFC 1035 §3.2.1, RFC 2181 §8), in front of a DNSLookup.

import Synchronization

/// Keeps each successful answer for its TTL and answers from it until then; failures and TTL 0
/// are not kept (negative caching, RFC 2308, is left out: a failed lookup is asked again).
public final class DNSCache: DNSLookup {
    private enum Entry {
        case naptr(DNSRecordSet<NAPTRRecord>)
        case srv(DNSRecordSet<SRVRecord>)
        case addresses(DNSRecordSet<String>)
    }

    private struct Key: Hashable {
        var type: DNSRecordType
        var name: String
    }

    private let upstream: any DNSLookup
    private let now: @Sendable () -> ContinuousClock.Instant
    private let capacity: Int
    private let entries = Mutex([Key: (entry: Entry, expires: ContinuousClock.Instant)]())

    /// A cache of at most `capacity` answers in front of `upstream`; `now` is the clock (a test's
    /// own, to step past a TTL).
    public init(_ upstream: any DNSLookup, capacity: Int = 1_024, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.upstream = upstream
        self.capacity = capacity
        self.now = now
    }

    /// NAPTR records of `name`, cached.
    public func naptr(_ name: String) async throws(DNSError) -> DNSRecordSet<NAPTRRecord> {
        let key = Key(type: .naptr, name: name.lowercased())
        if case .naptr(let set)? = cached(key) { return set }
        let set = try await upstream.naptr(name)
        store(.naptr(set), ttl: set.ttl, key)
        return set
    }

    /// SRV records of `name`, cached.
    public func srv(_ name: String) async throws(DNSError) -> DNSRecordSet<SRVRecord> {
        let key = Key(type: .srv, name: name.lowercased())
        if case .srv(let set)? = cached(key) { return set }
        let set = try await upstream.srv(name)
        store(.srv(set), ttl: set.ttl, key)
        return set
    }

    /// A or AAAA addresses of `name`, cached.
    public func addresses(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSRecordSet<String> {
        let key = Key(type: type, name: name.lowercased())
        if case .addresses(let set)? = cached(key) { return set }
        let set = try await upstream.addresses(name, type)
        store(.addresses(set), ttl: set.ttl, key)
        return set
    }

    /// The entry of `key` while its TTL lasts, with the TTL left (RFC 1035 §3.2.1: a cached
    /// record's TTL counts down).
    private func cached(_ key: Key) -> Entry? {
        let instant = now()
        return entries.withLock { entries -> Entry? in
            guard let (entry, expires) = entries[key] else { return nil }
            guard instant < expires else {
                entries[key] = nil
                return nil
            }
            let left = UInt32(clamping: (expires - instant).components.seconds)
            switch entry {
            case .naptr(var set): set.ttl = left; return .naptr(set)
            case .srv(var set): set.ttl = left; return .srv(set)
            case .addresses(var set): set.ttl = left; return .addresses(set)
            }
        }
    }

    private func store(_ entry: Entry, ttl: UInt32, _ key: Key) {
        guard ttl > 0 else { return }
        let instant = now()
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { instant < $0.value.expires }
                if entries.count >= capacity { entries.removeAll() }
            }
            entries[key] = (entry, instant + .seconds(Int64(ttl)))
        }
    }
}
