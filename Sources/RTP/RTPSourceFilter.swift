import NIOCore

/// Decides which incoming RTP packets belong to the call (RFC 3550 §8.2, §7.2 of RFC 4961
/// symmetric RTP): packets from an unexpected transport address or with a foreign SSRC are counted
/// and dropped.
///
/// - Without `symmetric`, packets must come from the IP address the peer announced in SDP (any port).
/// - With `symmetric` (callers behind NAT), the filter latches onto the full source address of the
///   first packet it is given and from then on accepts only that address; the gateway then sends
///   its RTP to that address instead of the SDP one (`Verdict.latched`).
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
        /// Deliver it; the filter has just latched onto this source address (symmetric RTP): send our RTP there.
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
    /// Symmetric RTP latching on.
    public let symmetric: Bool
    /// Consecutive packets of a new SSRC before switching to it.
    public let ssrcSwitchPackets: Int
    /// The latched source address (symmetric mode), once latched.
    public private(set) var latchedAddress: SocketAddress?
    /// The stream's SSRC, once seen.
    public private(set) var ssrc: UInt32?
    /// Packets dropped for their source address.
    public private(set) var droppedUnexpectedSource = 0
    /// Packets dropped for their SSRC.
    public private(set) var droppedForeignSSRC = 0
    private var candidate: (ssrc: UInt32, count: Int)?

    /// Creates a filter for a peer announced at `expected`.
    public init(expected: SocketAddress, symmetric: Bool, ssrcSwitchPackets: Int = 3) {
        self.expected = expected
        self.symmetric = symmetric
        self.ssrcSwitchPackets = max(1, ssrcSwitchPackets)
    }

    /// Classifies one packet from `source` carrying `ssrc`.
    public mutating func packetReceived(from source: SocketAddress, ssrc packetSSRC: UInt32) -> Verdict {
        var latchedNow = false
        if symmetric {
            if let latchedAddress {
                guard latchedAddress == source else { return dropSource() }
            } else {
                latchedAddress = source
                latchedNow = true
            }
        } else {
            guard source.ipAddress == expected.ipAddress else { return dropSource() }
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

    /// Equality of configuration and state.
    public static func == (lhs: RTPSourceFilter, rhs: RTPSourceFilter) -> Bool {
        lhs.expected == rhs.expected && lhs.symmetric == rhs.symmetric && lhs.ssrcSwitchPackets == rhs.ssrcSwitchPackets
            && lhs.latchedAddress == rhs.latchedAddress && lhs.ssrc == rhs.ssrc
            && lhs.droppedUnexpectedSource == rhs.droppedUnexpectedSource && lhs.droppedForeignSSRC == rhs.droppedForeignSSRC
            && lhs.candidate?.ssrc == rhs.candidate?.ssrc && lhs.candidate?.count == rhs.candidate?.count
    }
}
