import Foundation

/// Which IP addresses a webhook may be sent to: public unicast only, unless private webhooks are
/// allowed (`--allow-private-webhooks`). A `callback_url` comes from an API client; without this
/// guard it could aim the server at its own loopback, the LAN behind it or a cloud metadata
/// service (server-side request forgery). The ranges are those of the IANA special-purpose
/// address registries (RFC 6890 and its updates), with multicast, broadcast and the cloud
/// metadata addresses named on their own; IPv4-mapped, NAT64 and 6to4 IPv6 addresses are judged
/// by the IPv4 address they carry.
public enum WebhookAddressPolicy {
    /// A named range an address fell in: why it is refused.
    public struct Refusal: Sendable, Equatable, CustomStringConvertible {
        /// What the range is, e.g. `loopback`.
        public var name: String
        /// The range in CIDR notation, e.g. `127.0.0.0/8`.
        public var range: String
        /// The name and the range, e.g. `loopback (127.0.0.0/8)`.
        public var description: String { "\(name) (\(range))" }
    }

    /// The reserved range `address` (4 or 16 bytes, network order) lies in, or nil when it is a
    /// public unicast address a webhook may reach.
    public static func refusal(for address: [UInt8]) -> Refusal? {
        switch address.count {
        case 4: return refusal(v4: address)
        case 16: return refusal(v6: address)
        default: return Refusal(name: "not an IP address", range: "\(address.count) bytes")
        }
    }

    /// The bytes of an IPv4 (dotted quad, RFC 791) or IPv6 (RFC 4291 §2.2) literal, brackets
    /// allowed; nil for anything else (a host name). Uses `inet_pton`, so `127.1` or `2130706433`
    /// are not literals here: they go to the resolver, whose answer is checked at connect time.
    public static func parse(_ literal: String) -> [UInt8]? {
        var text = literal
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        // A zone index (fe80::1%eth0) names a link: link-local, refused below either way.
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// True for host names that are the local host by definition (RFC 6761 §6.3), refused
    /// before any lookup.
    public static func isLocalhostName(_ host: String) -> Bool {
        let name = host.lowercased().hasSuffix(".") ? String(host.lowercased().dropLast()) : host.lowercased()
        return name == "localhost" || name.hasSuffix(".localhost")
    }

    /// IPv4 ranges refused, most specific first (RFC 6890 §2.2.2 and later assignments).
    static let v4Ranges: [(prefix: [UInt8], bits: Int, name: String)] = [
        ([169, 254, 169, 254], 32, "cloud metadata service"),
        ([255, 255, 255, 255], 32, "limited broadcast (RFC 919)"),
        ([0, 0, 0, 0], 8, "\"this network\" (RFC 791)"),
        ([10, 0, 0, 0], 8, "private (RFC 1918)"),
        ([100, 64, 0, 0], 10, "shared address space, carrier-grade NAT (RFC 6598)"),
        ([127, 0, 0, 0], 8, "loopback (RFC 1122)"),
        ([169, 254, 0, 0], 16, "link-local (RFC 3927)"),
        ([172, 16, 0, 0], 12, "private (RFC 1918)"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments (RFC 6890)"),
        ([192, 0, 2, 0], 24, "documentation TEST-NET-1 (RFC 5737)"),
        ([192, 31, 196, 0], 24, "AS112 (RFC 7535)"),
        ([192, 52, 193, 0], 24, "AMT (RFC 7450)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast (RFC 7526)"),
        ([192, 168, 0, 0], 16, "private (RFC 1918)"),
        ([192, 175, 48, 0], 24, "direct delegation AS112 (RFC 7534)"),
        ([198, 18, 0, 0], 15, "benchmarking (RFC 2544)"),
        ([198, 51, 100, 0], 24, "documentation TEST-NET-2 (RFC 5737)"),
        ([203, 0, 113, 0], 24, "documentation TEST-NET-3 (RFC 5737)"),
        ([224, 0, 0, 0], 4, "multicast (RFC 5771)"),
        ([240, 0, 0, 0], 4, "reserved (RFC 1112)"),
    ]

    /// IPv6 ranges refused outright, most specific first (RFC 6890 §2.2.3 and later).
    static let v6Ranges: [(prefix: [UInt8], bits: Int, name: String)] = [
        ([0xfd, 0x00, 0x0e, 0xc2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54], 128, "cloud metadata service"),
        ([UInt8](repeating: 0, count: 16), 128, "unspecified (RFC 4291)"),
        ([UInt8](repeating: 0, count: 15) + [1], 128, "loopback (RFC 4291)"),
        ([UInt8](repeating: 0, count: 16), 96, "IPv4-compatible, deprecated (RFC 4291)"),
        ([0x00, 0x64, 0xff, 0x9b, 0x00, 0x01] + [UInt8](repeating: 0, count: 10), 48, "local-use NAT64 (RFC 8215)"),
        ([0x01] + [UInt8](repeating: 0, count: 15), 64, "discard-only (RFC 6666)"),
        ([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 12), 32, "documentation (RFC 3849)"),
        ([0x20, 0x01] + [UInt8](repeating: 0, count: 14), 23, "IETF protocol assignments: Teredo, benchmarking, ORCHID (RFC 6890)"),
        ([0x3f, 0xff] + [UInt8](repeating: 0, count: 14), 20, "documentation (RFC 9637)"),
        ([0x5f, 0x00] + [UInt8](repeating: 0, count: 14), 16, "SRv6 SIDs (RFC 9602)"),
        ([0xfc] + [UInt8](repeating: 0, count: 15), 7, "unique-local (RFC 4193)"),
        ([0xfe, 0x80] + [UInt8](repeating: 0, count: 14), 10, "link-local (RFC 4291)"),
        ([0xfe, 0xc0] + [UInt8](repeating: 0, count: 14), 10, "site-local, deprecated (RFC 3879)"),
        ([0xff] + [UInt8](repeating: 0, count: 15), 8, "multicast (RFC 4291)"),
    ]

    static func refusal(v4 address: [UInt8]) -> Refusal? {
        for range in v4Ranges where matches(address, range.prefix, range.bits) {
            return Refusal(name: range.name, range: "\(range.prefix.map(String.init).joined(separator: "."))/\(range.bits)")
        }
        return nil
    }

    static func refusal(v6 address: [UInt8]) -> Refusal? {
        // Addresses carrying an IPv4 address reach it: judge that one.
        var embedded: (at: Int, name: String)?
        if address.starts(with: [UInt8](repeating: 0, count: 10) + [0xff, 0xff]) {
            embedded = (12, "IPv4-mapped ::ffff:0:0/96")
        } else if address.starts(with: [0x00, 0x64, 0xff, 0x9b] + [UInt8](repeating: 0, count: 8)) {
            embedded = (12, "NAT64 64:ff9b::/96")
        } else if address.starts(with: [0x20, 0x02]) {
            embedded = (2, "6to4 2002::/16")
        }
        if let embedded {
            let inner = Array(address[embedded.at..<embedded.at + 4])
            guard let refusal = refusal(v4: inner) else { return nil }
            return Refusal(name: "\(refusal.name) in \(embedded.name)", range: refusal.range)
        }
        for range in v6Ranges where matches(address, range.prefix, range.bits) {
            return Refusal(name: range.name, range: "\(format(v6: range.prefix))/\(range.bits)")
        }
        // Only 2000::/3 is global unicast (RFC 4291 §2.4, IANA IPv6 address space); the rest is unassigned.
        if address[0] & 0xe0 != 0x20 { return Refusal(name: "not global unicast", range: "outside 2000::/3") }
        return nil
    }

    static func matches(_ address: [UInt8], _ prefix: [UInt8], _ bits: Int) -> Bool {
        guard address.count == prefix.count else { return false }
        for i in 0..<(bits / 8) where address[i] != prefix[i] { return false }
        let rest = bits % 8
        if rest == 0 { return true }
        let mask = UInt8(0xff) << (8 - rest)
        return address[bits / 8] & mask == prefix[bits / 8] & mask
    }

    /// An IPv6 address as text (RFC 5952).
    static func format(v6 bytes: [UInt8]) -> String {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// An address (4 or 16 bytes) as text.
    public static func format(_ bytes: [UInt8]) -> String {
        bytes.count == 4 ? bytes.map(String.init).joined(separator: ".") : format(v6: bytes)
    }
}
