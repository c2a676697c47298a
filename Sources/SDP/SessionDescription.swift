/// An SDP session description (RFC 8866 §5): the session-level fields followed by zero or more
/// media descriptions. Values are kept as parsed so that an unmodified description serializes to
/// the same lines (attributes keep their order; unknown attributes are preserved).
///
/// Hand-written: no maintained Swift SDP library exists in the package mirror, and the grammar is
/// small (one `<type>=<value>` per line).
public struct SessionDescription: Equatable, Sendable {
    /// `v=` protocol version; always 0 (RFC 8866 §5.1).
    public var version: Int
    /// `o=` origin (RFC 8866 §5.2).
    public var origin: Origin
    /// `s=` session name (RFC 8866 §5.3); `-` when there is none.
    public var sessionName: String
    /// `i=` session information (RFC 8866 §5.4).
    public var information: String?
    /// `u=` URI (RFC 8866 §5.5).
    public var uri: String?
    /// `e=` email addresses (RFC 8866 §5.6).
    public var emails: [String]
    /// `p=` phone numbers (RFC 8866 §5.6).
    public var phones: [String]
    /// Session-level `c=` (RFC 8866 §5.7); media-level `c=` overrides it.
    public var connection: Connection?
    /// Session-level `b=` lines (RFC 8866 §5.8).
    public var bandwidths: [Bandwidth]
    /// `t=` lines, each with its `r=` lines kept raw (RFC 8866 §5.9, §5.10).
    public var timings: [Timing]
    /// `z=` time zone adjustments, raw (RFC 8866 §5.11).
    public var timeZones: String?
    /// `k=` (obsolete, RFC 8866 §5.12), kept raw.
    public var encryptionKey: String?
    /// Session-level `a=` lines in order (RFC 8866 §5.13).
    public var attributes: [Attribute]
    /// `m=` sections in order (RFC 8866 §5.14).
    public var media: [MediaDescription]

    /// Creates a description with the mandatory fields; `t=0 0` by default.
    public init(
        origin: Origin,
        sessionName: String = "-",
        connection: Connection? = nil,
        timings: [Timing] = [Timing(start: 0, stop: 0)],
        attributes: [Attribute] = [],
        media: [MediaDescription] = []
    ) {
        self.version = 0
        self.origin = origin
        self.sessionName = sessionName
        self.information = nil
        self.uri = nil
        self.emails = []
        self.phones = []
        self.connection = connection
        self.bandwidths = []
        self.timings = timings
        self.timeZones = nil
        self.encryptionKey = nil
        self.attributes = attributes
        self.media = media
    }

    /// The session-level direction attribute, if any (RFC 8866 §6.7); media-level wins.
    public var direction: Direction? { Direction(attributes: attributes) }

    /// The connection that applies to `media[index]`: its own `c=` or the session's (RFC 8866 §5.7).
    public func effectiveConnection(of media: MediaDescription) -> Connection? {
        media.connections.first ?? connection
    }

    /// The direction that applies to a media description: media-level attribute, else session-level,
    /// else `sendrecv` (RFC 8866 §6.7, RFC 3264 §5.1).
    public func effectiveDirection(of media: MediaDescription) -> Direction {
        media.direction ?? direction ?? .sendrecv
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2).
public struct Origin: Equatable, Sendable {
    /// Login of the originating user, `-` when none.
    public var username: String
    /// Numeric session id, kept as text (some peers exceed 64 bits).
    public var sessionID: String
    /// Session version; incremented on every modified description (RFC 3264 §8).
    public var sessionVersion: UInt64
    /// Network type, `IN`.
    public var networkType: String
    /// `IP4` or `IP6` (other values kept as text).
    public var addressType: String
    /// Address of the originating host, as text (some peers put `[::1]` here).
    public var address: String

    /// Creates an origin.
    public init(username: String = "-", sessionID: String, sessionVersion: UInt64, networkType: String = "IN", addressType: String, address: String) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
public struct Connection: Equatable, Sendable {
    /// Network type, `IN`.
    public var networkType: String
    /// Address type.
    public var addressType: AddressType
    /// The address without any `/ttl` or `/count` suffix.
    public var address: String
    /// The raw `/ttl[/count]` suffix of multicast addresses, if any.
    public var multicastSuffix: String?

    /// `IP4` or `IP6` (RFC 8866 §5.7).
    public enum AddressType: String, Equatable, Sendable {
        /// IPv4.
        case ip4 = "IP4"
        /// IPv6.
        case ip6 = "IP6"
    }

    /// Creates a unicast connection line.
    public init(addressType: AddressType, address: String) {
        self.networkType = "IN"
        self.addressType = addressType
        self.address = address
        self.multicastSuffix = nil
    }

    /// Creates a connection for an IPv4 or IPv6 literal (a `:` means IPv6).
    public init(address: String) {
        self.init(addressType: address.contains(":") ? .ip6 : .ip4, address: address)
    }

    /// True for `0.0.0.0` and `::`: the RFC 2543 way to put a stream on hold (RFC 3264 §8.4).
    public var isHoldAddress: Bool { address == "0.0.0.0" || address == "::" }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
public struct Bandwidth: Equatable, Sendable {
    /// `CT`, `AS`, `TIAS` (RFC 3890) or another token.
    public var type: String
    /// Kilobits per second (bits per second for TIAS).
    public var value: UInt64

    /// Creates a bandwidth line.
    public init(type: String, value: UInt64) {
        self.type = type
        self.value = value
    }
}

/// `t=<start-time> <stop-time>` with its `r=` lines (RFC 8866 §5.9, §5.10).
public struct Timing: Equatable, Sendable {
    /// NTP start time, 0 for unbounded.
    public var start: UInt64
    /// NTP stop time, 0 for unbounded.
    public var stop: UInt64
    /// Raw `r=` values following this `t=` line.
    public var repeats: [String]

    /// Creates a timing line.
    public init(start: UInt64, stop: UInt64, repeats: [String] = []) {
        self.start = start
        self.stop = stop
        self.repeats = repeats
    }
}

/// `a=<name>[:<value>]` (RFC 8866 §5.13).
public struct Attribute: Equatable, Sendable {
    /// Attribute name, e.g. `rtpmap`.
    public var name: String
    /// Value after the first `:`, nil for property attributes like `sendrecv`.
    public var value: String?

    /// Creates an attribute.
    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// Media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1).
public enum Direction: String, Equatable, Sendable, CaseIterable {
    /// `a=sendrecv`.
    case sendrecv
    /// `a=sendonly`.
    case sendonly
    /// `a=recvonly`.
    case recvonly
    /// `a=inactive`.
    case inactive

    /// The last direction attribute in a list, if any.
    public init?(attributes: [Attribute]) {
        guard let found = attributes.last(where: { $0.value == nil && Direction(rawValue: $0.name) != nil }),
              let direction = Direction(rawValue: found.name) else { return nil }
        self = direction
    }

    /// The answerer's direction for an offered direction (RFC 3264 §6.1): sendonly→recvonly,
    /// recvonly→sendonly, inactive→inactive, sendrecv→sendrecv.
    public var mirrored: Direction {
        switch self {
        case .sendrecv: .sendrecv
        case .sendonly: .recvonly
        case .recvonly: .sendonly
        case .inactive: .inactive
        }
    }

    /// True when the side using this direction sends media.
    public var sends: Bool { self == .sendrecv || self == .sendonly }
    /// True when the side using this direction receives media.
    public var receives: Bool { self == .sendrecv || self == .recvonly }
}
