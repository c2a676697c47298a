import Foundation
import NIOPosix

/// Resolves a webhook's host name to the addresses it may be connected to. The dispatcher checks
/// every one (`WebhookAddressPolicy`) and pins the connection to a checked address, so the name
/// is resolved once per attempt, by this, and never again by the HTTP client (DNS rebinding).
public protocol WebhookResolver: Sendable {
    /// Every address `host` resolves to, 4 or 16 bytes each in network order.
    func addresses(of host: String) async throws -> [[UInt8]]
}

/// The system resolver (`getaddrinfo`, POSIX.1-2017), run on NIO's blocking-I/O thread pool.
public struct SystemWebhookResolver: WebhookResolver {
    /// The lookup failed: `gai_strerror`'s text.
    public struct LookupFailed: Error, CustomStringConvertible {
        /// The resolver's message.
        public var description: String
    }

    /// The system resolver.
    public init() {}

    /// Every address `getaddrinfo` gives for `host` (4 or 16 bytes each); throws `LookupFailed`.
    public func addresses(of host: String) async throws -> [[UInt8]] {
        try await NIOThreadPool.singleton.runIfActive { try Self.lookup(host) }
    }

    static func lookup(_ host: String) throws -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else { throw LookupFailed(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))") }
        defer { freeaddrinfo(list) }
        var result: [[UInt8]] = []
        var next = list
        while let info = next?.pointee {
            next = info.ai_next
            guard let address = info.ai_addr else { continue }
            switch info.ai_family {
            case AF_INET:
                let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                }
                result.append(bytes)
            case AF_INET6:
                let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                }
                result.append(bytes)
            default:
                continue
            }
        }
        var seen = Set<[UInt8]>()
        return result.filter { seen.insert($0).inserted }
    }
}
