// DNSError: why a DNS lookup gave no records, one case per cause an operator can act on.

/// Why a lookup of `name` failed (RFC 1035 §4.1.1 RCODEs, RFC 2308 §2.2 NODATA, c-ares statuses).
public enum DNSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// NXDOMAIN: the name does not exist (RFC 1035 §4.1.1 RCODE 3, RFC 2308 §2.1).
    case nonexistentDomain(String)
    /// The name exists but has no records of the type asked (NODATA, RFC 2308 §2.2).
    case noRecords(String, DNSRecordType)
    /// An SRV set whose only target is "." : the service is decidedly not offered (RFC 2782).
    case serviceNotOffered(String)
    /// No answer within the resolver's timeout and tries.
    case timeout(String)
    /// The server answered REFUSED (RFC 1035 §4.1.1 RCODE 5).
    case refused(String)
    /// The server answered SERVFAIL (RCODE 2) or NOTIMP (RCODE 4).
    case serverFailure(String)
    /// The server's port is closed (ICMP port unreachable) or the connection failed.
    case connectionRefused(String)
    /// The response could not be parsed (RFC 1035 §4.1).
    case malformedResponse(String)
    /// `name` is not a host name a query can carry (RFC 1035 §2.3.4: labels of at most 63, names
    /// of at most 253 octets, no NUL).
    case invalidName(String)
    /// The resolver's server address is not an IP address and port c-ares takes (`dns_server`).
    case invalidServer(String)
    /// The resolver was shut down before the answer came.
    case shutDown
    /// Any other c-ares status (its code and `ares_strerror` text).
    case other(name: String, code: Int32, reason: String)

    /// Human-readable, naming the host and the cause.
    public var description: String {
        switch self {
        case .nonexistentDomain(let name): "\(name): no such domain (NXDOMAIN)"
        case .noRecords(let name, let type): "\(name): no \(type) records"
        case .serviceNotOffered(let name): "\(name): service not offered (SRV target \".\")"
        case .timeout(let name): "\(name): DNS server did not answer in time"
        case .refused(let name): "\(name): DNS server refused the query"
        case .serverFailure(let name): "\(name): DNS server failure (SERVFAIL)"
        case .connectionRefused(let name): "\(name): DNS server unreachable (connection refused)"
        case .malformedResponse(let name): "\(name): malformed DNS response"
        case .invalidName(let name): "\(name): not a valid host name"
        case .invalidServer(let server): "\(server): not a DNS server address (IP:port)"
        case .shutDown: "DNS resolver shut down"
        case .other(let name, let code, let reason): "\(name): DNS error \(code) (\(reason))"
        }
    }

    /// Whether the name has no such records for sure, so RFC 3263 §4 moves on to its next step
    /// (NXDOMAIN or NODATA), as opposed to a server problem that would fail every next step too.
    public var isAbsence: Bool {
        switch self {
        case .nonexistentDomain, .noRecords, .serviceNotOffered: true
        case .timeout, .refused, .serverFailure, .connectionRefused, .malformedResponse, .invalidName, .invalidServer, .shutDown, .other: false
        }
    }
}
