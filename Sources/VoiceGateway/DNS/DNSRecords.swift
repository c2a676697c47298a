// The DNS records RFC 3263 asks for, as values, and the TTL that comes with each answer.

/// The record types RFC 3263 §4 queries (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 3403).
public enum DNSRecordType: Int32, Sendable, Hashable, CustomStringConvertible {
    /// IPv4 address (RFC 1035 §3.4.1).
    case a = 1
    /// IPv6 address (RFC 3596 §2.1).
    case aaaa = 28
    /// Service location (RFC 2782).
    case srv = 33
    /// Naming authority pointer (RFC 3403 §4).
    case naptr = 35

    /// The type's mnemonic.
    public var description: String {
        switch self {
        case .a: "A"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        case .naptr: "NAPTR"
        }
    }
}

/// The records of one answer (an RRset, RFC 2181 §5) and how long they may be cached.
public struct DNSRecordSet<Record: Sendable & Equatable>: Sendable, Equatable {
    /// The records, in the order of the response.
    public var records: [Record]
    /// Seconds the answer may be cached (RFC 1035 §3.2.1; the smallest TTL of the set).
    public var ttl: UInt32

    /// Creates a record set.
    public init(records: [Record], ttl: UInt32) {
        self.records = records
        self.ttl = ttl
    }
}

/// An SRV record (RFC 2782).
public struct SRVRecord: Sendable, Hashable {
    /// Lower is tried first.
    public var priority: UInt16
    /// Relative share among records of one priority; 0: chosen only rarely.
    public var weight: UInt16
    /// The service's port on `target`.
    public var port: UInt16
    /// The host providing the service; "." (empty here): not offered.
    public var target: String

    /// Creates a record.
    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// A NAPTR record (RFC 3403 §4.1) as RFC 3263 §4.1 uses it: flags "s", a service such as
/// "SIP+D2U", no regexp, and a replacement naming the SRV to ask.
public struct NAPTRRecord: Sendable, Hashable {
    /// Lower is used first (RFC 3403 §4.1 ORDER).
    public var order: UInt16
    /// Lower is preferred among equal orders (PREFERENCE).
    public var preference: UInt16
    /// FLAGS ("s": the replacement is an SRV name).
    public var flags: String
    /// SERVICES ("SIP+D2U", "SIP+D2T", "SIPS+D2T", RFC 3263 §4.1).
    public var service: String
    /// REGEXP (unused by RFC 3263).
    public var regexp: String
    /// REPLACEMENT: the name of the next lookup.
    public var replacement: String

    /// Creates a record.
    public init(order: UInt16, preference: UInt16, flags: String, service: String, regexp: String = "", replacement: String) {
        self.order = order
        self.preference = preference
        self.flags = flags
        self.service = service
        self.regexp = regexp
        self.replacement = replacement
    }
}

/// The lookups RFC 3263 §4 needs: the c-ares `DNSResolver`, the `DNSCache` in front of it, or a
/// test's table.
public protocol DNSLookup: Sendable {
    /// NAPTR records of `name` (RFC 3403).
    func naptr(_ name: String) async throws(DNSError) -> DNSRecordSet<NAPTRRecord>
    /// SRV records of `name`, e.g. `_sip._udp.example.com` (RFC 2782).
    func srv(_ name: String) async throws(DNSError) -> DNSRecordSet<SRVRecord>
    /// IP addresses of `name` as text: A (RFC 1035) or AAAA (RFC 3596) records.
    func addresses(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSRecordSet<String>
}
