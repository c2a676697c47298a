/// The audio codecs Verigate speaks, with their RTP names and clock rates (RFC 3551 Table 4,
/// RFC 7587 §7 for Opus: always `opus/48000/2` in SDP whatever the real rate).
public enum AudioCodec: String, Equatable, Sendable, CaseIterable {
    /// G.711 µ-law, static payload type 0.
    case pcmu
    /// G.711 A-law, static payload type 8.
    case pcma
    /// Opus, dynamic payload type, `opus/48000/2`.
    case opus

    /// The encoding name in `a=rtpmap`.
    public var encodingName: String {
        switch self {
        case .pcmu: "PCMU"
        case .pcma: "PCMA"
        case .opus: "opus"
        }
    }

    /// The RTP clock rate (RFC 3551 §4.5.14; RFC 7587 §4.1: 48 kHz for Opus).
    public var clockRate: Int {
        switch self {
        case .pcmu, .pcma: 8000
        case .opus: 48000
        }
    }

    /// The channel count written in `a=rtpmap` (RFC 7587 §7: `/2` for Opus), nil for G.711.
    public var rtpmapChannels: Int? {
        switch self {
        case .pcmu, .pcma: nil
        case .opus: 2
        }
    }

    /// The static payload type (RFC 3551 Table 4), nil for Opus.
    public var staticPayloadType: UInt8? {
        switch self {
        case .pcmu: 0
        case .pcma: 8
        case .opus: nil
        }
    }

    /// True when an offered `rtpmap` names this codec (name case-insensitive, same clock rate,
    /// and for Opus two channels, RFC 7587 §7).
    public func matches(_ map: RTPMap) -> Bool {
        guard map.isEncoding(encodingName), map.clockRate == clockRate else { return false }
        switch self {
        case .pcmu, .pcma: return (map.channels ?? 1) == 1
        case .opus: return map.channels == 2
        }
    }
}
