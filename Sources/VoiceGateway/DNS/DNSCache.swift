// DNSCache: answers kept for their TTL (RFC 1035 §3.2.1, RFC 2181 §8), in front of a DNSLookup.

import Synchronization

/// Keeps each answer for its TTL and answers from it until then; TTL 0 is not kept. A name that
/// does not exist or has no records of a type (NXDOMAIN, NODATA) is kept for `negativeTTL` (RFC
/// 2308 §5 takes it from the zone's SOA, which c-ares 1.18 does not hand over for these answers),
/// so that one missing AAAA does not send every lookup back to the server. Server failures
/// (timeout, REFUSED, SERVFAIL) are never kept.
public final class DNSCache: DNSLookup {
    private enum Entry {
        case naptr(DNSRecordSet<NAPTRRecord>)
        case srv(DNSRecordSet<SRVRecord>)
        case addresses(DNSRecordSet<String>)
        case absent(DNSError)
    }

    private struct Key: Hashable {
        var type: DNSRecordType
        var name: String
    }

    private let upstream: any DNSLookup
    private let now: @Sendable () -> ContinuousClock.Instant
    private let capacity: Int
    private let negativeTTL: UInt32
    private let entries = Mutex([Key: (entry: Entry, expires: ContinuousClock.Instant)]())

    /// A cache of at most `capacity` answers in front of `upstream`, keeping absent names for
    /// `negativeTTL` seconds; `now` is the clock (a test's own, to step past a TTL).
    public init(_ upstream: any DNSLookup, capacity: Int = 1_024, negativeTTL: UInt32 = 30, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.upstream = upstream
        self.capacity = capacity
        self.negativeTTL = negativeTTL
        self.now = now
    }

    /// NAPTR records of `name`, cached.
    public func naptr(_ name: String) async throws(DNSError) -> DNSRecordSet<NAPTRRecord> {
        try await lookup(Key(type: .naptr, name: name.lowercased()), Entry.naptr, { if case .naptr(let set) = $0 { set } else { nil } }) { () async throws(DNSError) in
            try await upstream.naptr(name)
        }
    }

    /// SRV records of `name`, cached.
    public func srv(_ name: String) async throws(DNSError) -> DNSRecordSet<SRVRecord> {
        try await lookup(Key(type: .srv, name: name.lowercased()), Entry.srv, { if case .srv(let set) = $0 { set } else { nil } }) { () async throws(DNSError) in
            try await upstream.srv(name)
        }
    }

    /// A or AAAA addresses of `name`, cached.
    public func addresses(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSRecordSet<String> {
        try await lookup(Key(type: type, name: name.lowercased()), Entry.addresses, { if case .addresses(let set) = $0 { set } else { nil } }) { () async throws(DNSError) in
            try await upstream.addresses(name, type)
        }
    }

    /// The cached answer of `key` with the TTL left (RFC 1035 §3.2.1: it counts down), else
    /// `ask`'s, which is kept.
    private func lookup<Record>(
        _ key: Key, _ wrap: (DNSRecordSet<Record>) -> Entry, _ unwrap: (Entry) -> DNSRecordSet<Record>?,
        _ ask: () async throws(DNSError) -> DNSRecordSet<Record>
    ) async throws(DNSError) -> DNSRecordSet<Record> {
        if let (entry, left) = cached(key) {
            if case .absent(let error) = entry { throw error }
            if var set = unwrap(entry) {
                set.ttl = left
                return set
            }
        }
        do {
            let set = try await ask()
            store(wrap(set), ttl: set.ttl, key)
            return set
        } catch where error.isAbsence {
            store(.absent(error), ttl: negativeTTL, key)
            throw error
        }
    }

    private func cached(_ key: Key) -> (Entry, UInt32)? {
        let instant = now()
        return entries.withLock { entries -> (Entry, UInt32)? in
            guard let (entry, expires) = entries[key] else { return nil }
            guard instant < expires else {
                entries[key] = nil
                return nil
            }
            return (entry, UInt32(clamping: (expires - instant).components.seconds))
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
