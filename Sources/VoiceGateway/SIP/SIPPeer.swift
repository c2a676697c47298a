// SIPPeer: where a message came from or goes to (RFC 3261 §18), and the random tokens an endpoint
// puts in the messages it creates (tags §19.3, branches §8.1.1.7, Call-IDs §8.1.1.4).

import NIOCore

/// The transport protocols of RFC 3261 §18 that the endpoint speaks.
public enum SIPTransportProtocol: String, Sendable, Hashable, CaseIterable {
    /// UDP (§18): unreliable, so transactions retransmit.
    case udp = "UDP"
    /// TCP (§18): reliable, framed by Content-Length (§18.3).
    case tcp = "TCP"

    /// Whether the transport is reliable (§17: no retransmission timers).
    public var isReliable: Bool { self == .tcp }
}

/// A remote transport address with its protocol: the source of a received message, or the
/// destination of one to send (RFC 3261 §18.1.1, §18.2.2).
public struct SIPPeer: Sendable, Hashable, CustomStringConvertible {
    /// UDP or TCP.
    public var transport: SIPTransportProtocol
    /// The remote IP address and port.
    public var address: SocketAddress

    /// Creates a peer.
    public init(_ transport: SIPTransportProtocol, _ address: SocketAddress) {
        self.transport = transport
        self.address = address
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
