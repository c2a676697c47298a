import NIOCore

/// Decides which incoming RTP packets belong to the call (RFC 3550 §8.2, RFC 4961 symmetric RTP):
/// packets from an unexpected transport address or with a foreign SSRC are counted and dropped,
/// and says where our RTP goes (`destination`).
///
/// - `latching == .off`: packets must come from the IP address the peer announced in SDP (any
///   port); we send to the SDP's address.
/// - Otherwise (callers and trunks behind NAT, RFC 4961 §4), the filter latches once, onto the full
///   source address of the first packet from an allowed source (`.signallingSource`: the SDP's IP or
///   the signalling peer's; `.anySource`: anyone), and from then on accepts only that address; our
///   RTP goes there instead of to the SDP's address (`Verdict.latched`), RTCP to its port + 1
///   (RFC 3550 §11). Before the latch, packets from other sources are strangers, and after it too.
/// - The first SSRC is latched too. A different SSRC is dropped unless it persists for
///   `ssrcSwitchPackets` packets in a row with no packet of the current SSRC between (a sender
///   that really changed SSRC, e.g. SIPp starting `play_dtmf`); then the filter switches to it.
///
/// Feed it only packets that parsed as RTP with a negotiated payload type. Pure value.
public struct RTPSourceFilter: Equatable, Sendable {
    /// What to do with a packet.
    public enum Verdict: Equatable, Sendable {
        /// Deliver it.
        case accept
        /// Deliver it; the filter has just latched onto this source address (RFC 4961): send our RTP there.
        case latched(SocketAddress)
        /// Deliver it; the stream switched to this SSRC (resynchronize jitter buffer and statistics).
        case ssrcChanged(UInt32)
        /// Drop it: the source address is not the peer's.
        case dropUnexpectedSource
        /// Drop it: its SSRC is not the stream's.
        case dropForeignSSRC
    }

    /// The address announced in SDP.
    public var expected: SocketAddress
    /// When to latch.
    public let latching: RTPLatching
    /// The signalling peer's address (its IP counts for `.signallingSource`); nil: none known.
    public let signalling: SocketAddress?
    /// Consecutive packets of a new SSRC before switching to it.
    public let ssrcSwitchPackets: Int
    /// The latched source address, once latched.
    public private(set) var latchedAddress: SocketAddress?
    /// The stream's SSRC, once seen.
    public private(set) var ssrc: UInt32?
    /// Packets dropped for their source address.
    public private(set) var droppedUnexpectedSource = 0
    /// Packets dropped for their SSRC.
    public private(set) var droppedForeignSSRC = 0
    private var candidate: (ssrc: UInt32, count: Int)?

    /// Creates a filter for a peer announced at `expected` whose signalling comes from (or goes to) `signalling`.
    public init(expected: SocketAddress, latching: RTPLatching = .off, signalling: SocketAddress? = nil, ssrcSwitchPackets: Int = 3) {
        self.expected = expected
        self.latching = latching
        self.signalling = signalling
        self.ssrcSwitchPackets = max(1, ssrcSwitchPackets)
    }

    /// Where our RTP goes: the latched address once latched (RFC 4961 §4), else the SDP's.
    public var destination: SocketAddress { latchedAddress ?? expected }

    /// Where our RTCP would go: `destination`'s port + 1 (RFC 3550 §11; RFC 4961 §4 for the latched one).
    public var rtcpDestination: SocketAddress {
        var address = destination
        if let port = address.port { address.port = port == 65_535 ? port : port + 1 }
        return address
    }

    /// Classifies one packet from `source` carrying `ssrc`. Feed it only valid RTP (a negotiated
    /// payload type): the first such packet from an allowed source latches.
    public mutating func packetReceived(from source: SocketAddress, ssrc packetSSRC: UInt32) -> Verdict {
        var latchedNow = false
        switch latching {
        case .off:
            guard Self.sameHost(source, expected) else { return dropSource() }
        case .signallingSource, .anySource:
            if let latchedAddress {
                guard latchedAddress == source else { return dropSource() }
            } else {
                let allowed = latching == .anySource || Self.sameHost(source, expected) || signalling.map { Self.sameHost(source, $0) } == true
                guard allowed else { return dropSource() }
                latchedAddress = source
                latchedNow = true
            }
        }
        guard let current = ssrc else {
            ssrc = packetSSRC
            return latchedNow ? .latched(source) : .accept
        }
        if packetSSRC == current {
            candidate = nil
            return latchedNow ? .latched(source) : .accept
        }
        let count = candidate?.ssrc == packetSSRC ? (candidate?.count ?? 0) + 1 : 1
        if count >= ssrcSwitchPackets {
            ssrc = packetSSRC
            candidate = nil
            return .ssrcChanged(packetSSRC)
        }
        candidate = (packetSSRC, count)
        droppedForeignSSRC += 1
        return .dropForeignSSRC
    }

    private mutating func dropSource() -> Verdict {
        droppedUnexpectedSource += 1
        return .dropUnexpectedSource
    }

    /// Whether two addresses have the same IP, ports aside; an IPv4-mapped IPv6 address (RFC 4291
    /// §2.5.5.2, what a dual-stack socket reports) equals its IPv4 address. Allocates nothing.
    public static func sameHost(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)):
            return x.address.sin_addr.s_addr == y.address.sin_addr.s_addr
        case (.v6(let x), .v6(let y)):
            return withUnsafeBytes(of: x.address.sin6_addr) { xs in withUnsafeBytes(of: y.address.sin6_addr) { ys in xs.elementsEqual(ys) } }
        case (.v4(let v4), .v6(let v6)), (.v6(let v6), .v4(let v4)):
            return withUnsafeBytes(of: v6.address.sin6_addr) { six in
                withUnsafeBytes(of: v4.address.sin_addr.s_addr) { four in
                    six.prefix(10).allSatisfy { $0 == 0 } && six[10] == 0xFF && six[11] == 0xFF && six.suffix(4).elementsEqual(four)
                }
            }
        default:
            return false
        }
    }

    /// Equality of configuration and state.
    public static func == (lhs: RTPSourceFilter, rhs: RTPSourceFilter) -> Bool {
        lhs.expected == rhs.expected && lhs.latching == rhs.latching && lhs.signalling == rhs.signalling && lhs.ssrcSwitchPackets == rhs.ssrcSwitchPackets
            && lhs.latchedAddress == rhs.latchedAddress && lhs.ssrc == rhs.ssrc
            && lhs.droppedUnexpectedSource == rhs.droppedUnexpectedSource && lhs.droppedForeignSSRC == rhs.droppedForeignSSRC
            && lhs.candidate?.ssrc == rhs.candidate?.ssrc && lhs.candidate?.count == rhs.candidate?.count
    }
}
