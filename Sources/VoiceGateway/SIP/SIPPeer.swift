// SIPPeer: where a message came from or goes to (RFC 3261 §18), and the random tokens an endpoint
// puts in the messages it creates (tags §19.3, branches §8.1.1.7, Call-IDs §8.1.1.4).

import NIOCore
import SIPMessage

/// The transport protocols of RFC 3261 §18 that the endpoint speaks.
public enum SIPTransportProtocol: String, Sendable, Hashable, CaseIterable {
    /// UDP (§18): unreliable, so transactions retransmit.
    case udp = "UDP"
    /// TCP (§18): reliable, framed by Content-Length (§18.3).
    case tcp = "TCP"
    /// TLS over TCP (§26.2, RFC 5630): reliable, framed as TCP; `transport=tls` in URIs, `TLS` in Via.
    case tls = "TLS"

    /// Whether the transport is reliable (§17: no retransmission timers).
    public var isReliable: Bool { self != .udp }

    /// The transport a SIP URI names (§19.1.1 `transport` parameter; RFC 5630 §3.1.3: a `sips:` URI
    /// means TLS, whatever its `transport=tcp`); UDP when it names none.
    public init(uri: SIPURI) {
        switch uri.transport {
        case "tls": self = .tls
        case "tcp": self = uri.isSecure ? .tls : .tcp
        default: self = uri.isSecure ? .tls : .udp
        }
    }
}

/// A remote transport address with its protocol: the source of a received message, or the
/// destination of one to send (RFC 3261 §18.1.1, §18.2.2).
/// Two peers are equal when their transport and address are (the TLS names below annotate them).
public struct SIPPeer: Sendable, Hashable, CustomStringConvertible {
    /// UDP, TCP or TLS.
    public var transport: SIPTransportProtocol
    /// The remote IP address and port.
    public var address: SocketAddress
    /// TLS destinations: the host name the server's certificate must name (RFC 5922 §7.2: the SIP
    /// domain, SAN dNSName, not the resolved IP); nil: the certificate must name the IP address.
    public var serverName: String?
    /// TLS sources: the SIP domains (SAN dNSNames, sip: URI hosts) of the client certificate the connection presented and the
    /// CA verified (RFC 5922 §7.3); empty without one.
    public var tlsIdentities: [String]

    /// Creates a peer.
    public init(_ transport: SIPTransportProtocol, _ address: SocketAddress, serverName: String? = nil, tlsIdentities: [String] = []) {
        self.transport = transport
        self.address = address
        self.serverName = serverName
        self.tlsIdentities = tlsIdentities
    }

    /// Same transport and address.
    public static func == (lhs: SIPPeer, rhs: SIPPeer) -> Bool {
        lhs.transport == rhs.transport && lhs.address == rhs.address
    }

    /// Hashes the transport and address.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(transport)
        hasher.combine(address)
    }

    /// The IP address as text, without port (for Via `received`, limits keyed per source).
    public var host: String { address.ipAddress ?? "unknown" }

    /// `TRANSPORT host:port`.
    public var description: String { "\(transport.rawValue) \(host):\(address.port ?? 0)" }
}

/// Random tokens for the messages the endpoint creates, from the system CSPRNG.
enum SIPTokens {
    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    /// `count` random characters from [0-9a-z].
    static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices { bytes[index] = alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A branch with the magic cookie (§8.1.1.7), unique in space and time.
    static func branch() -> String { "z9hG4bK" + random(20) }

    /// A From or To tag (§19.3: at least 32 bits of randomness).
    static func tag() -> String { random(12) }

    /// A Call-ID (§8.1.1.4).
    static func callID() -> String { random(24) }
}
