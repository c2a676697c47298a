/// The one error type of the `RTP` module (docs/ARCHITECTURE.md habit 5): a stable code and a detail.
/// Every malformed packet from a peer ends here; nothing in this module traps on peer input.
public struct RTPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Stable error codes; raw values never change.
    public enum Code: String, Sendable, Equatable {
        /// Fewer bytes than the fixed header, CSRC list, extension or a length field needs (RFC 3550 §5.1, §6.4).
        case truncated = "rtp.truncated"
        /// Version field is not 2 (RFC 3550 §5.1).
        case badVersion = "rtp.bad_version"
        /// The padding count is zero or exceeds the packet (RFC 3550 §5.1).
        case badPadding = "rtp.bad_padding"
        /// An RTCP length field disagrees with the datagram (RFC 3550 §6.4.1, A.2).
        case badLength = "rtp.bad_length"
        /// The datagram is not an RTCP compound packet: first packet not SR/RR (RFC 3550 §6.1, A.2).
        case notCompound = "rtp.not_compound"
        /// An RTCP SDES item or BYE reason is not UTF-8 (RFC 3550 §6.5, §6.6).
        case badText = "rtp.bad_text"
        /// An RFC 4733 event payload is malformed (RFC 4733 §2.3).
        case badEvent = "rtp.bad_event"
        /// A value we were asked to encode does not fit its field.
        case valueOutOfRange = "rtp.value_out_of_range"
        /// An SRTP/SRTCP packet's authentication tag does not verify (RFC 3711 §3.3, §3.4; RFC 7714 §9.2).
        case srtpAuthenticationFailed = "srtp.auth_fail"
        /// An SRTP index older than the replay window (RFC 3711 §3.3.2).
        case srtpReplayOld = "srtp.replay_old"
        /// An SRTP index already seen in the replay window: a replayed packet (RFC 3711 §3.3.2).
        case srtpReplayFailed = "srtp.replay_fail"
        /// A crypto suite or key length the SRTP context does not support (RFC 4568 §6.2, RFC 7714 §14.2).
        case srtpBadSuite = "srtp.bad_suite"
        /// A master key has protected all the packets it may (2^48 SRTP, 2^31 SRTCP: RFC 3711 §9.2).
        case srtpKeyExhausted = "srtp.key_exhausted"
        /// Any other SRTP failure: libcrypto refused an operation, or a context was asked to track too many SSRCs.
        case srtpFailed = "srtp.failed"
    }

    /// The stable code.
    public var code: Code
    /// Human-readable detail for logs.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `code: detail`.
    public var description: String { "\(code.rawValue): \(detail)" }
}
