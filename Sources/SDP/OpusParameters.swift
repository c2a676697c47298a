import ABNF

/// The Opus `a=fmtp` parameters of RFC 7587 §6.1, parsed from and formatted to `key=value;…`.
///
/// Unknown keys are kept in `other` so they survive a round trip. Booleans are `0`/`1`.
public struct OpusParameters: Equatable, Sendable {
    /// `maxplaybackrate`: the highest sample rate the receiver renders, 8000…48000 Hz.
    public var maxPlaybackRate: Int?
    /// `sprop-maxcapturerate`: the highest rate the sender captures.
    public var spropMaxCaptureRate: Int?
    /// `maxptime` in ms.
    public var maxptime: Int?
    /// `ptime` in ms.
    public var ptime: Int?
    /// `maxaveragebitrate` in bits per second, 6000…510000.
    public var maxAverageBitrate: Int?
    /// `stereo`: the receiver prefers stereo.
    public var stereo: Bool?
    /// `sprop-stereo`: the sender is likely to send stereo.
    public var spropStereo: Bool?
    /// `cbr`: the receiver prefers constant bitrate.
    public var cbr: Bool?
    /// `useinbandfec`: the receiver can use Opus in-band FEC, so the sender should add it.
    public var useInbandFEC: Bool?
    /// `usedtx`: the receiver prefers discontinuous transmission.
    public var useDTX: Bool?
    /// Parameters this type does not interpret, in order.
    public var other: [(key: String, value: String)]

    /// Creates parameters; all absent by default.
    public init(maxPlaybackRate: Int? = nil, maxAverageBitrate: Int? = nil, stereo: Bool? = nil, useInbandFEC: Bool? = nil, useDTX: Bool? = nil, ptime: Int? = nil, maxptime: Int? = nil) {
        self.maxPlaybackRate = maxPlaybackRate
        self.maxAverageBitrate = maxAverageBitrate
        self.stereo = stereo
        self.useInbandFEC = useInbandFEC
        self.useDTX = useDTX
        self.ptime = ptime
        self.maxptime = maxptime
        self.other = []
    }

    /// Parses the part of `a=fmtp:<pt> …` after the payload type. Malformed values of known keys
    /// throw `.badAttribute`; RFC 7587 §6.1 ranges are enforced.
    public init(fmtp: String) throws(SDPError) {
        self.init()
        for item in fmtp.split(separator: ";") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pair[0].trimmingSP.lowercased()
            let value = pair.count == 2 ? pair[1].trimmingSP : ""
            if key.isEmpty { continue }
            func number(_ range: ClosedRange<Int>) throws(SDPError) -> Int {
                guard let n = Int(value), range.contains(n) else {
                    throw SDPError(.badAttribute, "opus \(key)=\(value) outside \(range)")
                }
                return n
            }
            func flag() throws(SDPError) -> Bool {
                switch value {
                case "0": return false
                case "1": return true
                default: throw SDPError(.badAttribute, "opus \(key)=\(value) is not 0 or 1")
                }
            }
            switch key {
            case "maxplaybackrate": maxPlaybackRate = try number(8000...48000)
            case "sprop-maxcapturerate": spropMaxCaptureRate = try number(8000...48000)
            case "maxptime": maxptime = try number(3...120)
            case "ptime": ptime = try number(3...120)
            case "maxaveragebitrate": maxAverageBitrate = try number(6000...510_000)
            case "stereo": stereo = try flag()
            case "sprop-stereo": spropStereo = try flag()
            case "cbr": cbr = try flag()
            case "useinbandfec": useInbandFEC = try flag()
            case "usedtx": useDTX = try flag()
            default: other.append((key, value))
            }
        }
    }

    /// The `key=value;…` text in RFC 7587 §6.1 order; empty when nothing is set.
    public var fmtp: String {
        var items: [String] = []
        func add(_ key: String, _ value: Int?) { if let value { items.append("\(key)=\(value)") } }
        func add(_ key: String, _ value: Bool?) { if let value { items.append("\(key)=\(value ? 1 : 0)") } }
        add("maxplaybackrate", maxPlaybackRate)
        add("sprop-maxcapturerate", spropMaxCaptureRate)
        add("maxptime", maxptime)
        add("ptime", ptime)
        add("maxaveragebitrate", maxAverageBitrate)
        add("stereo", stereo)
        add("sprop-stereo", spropStereo)
        add("cbr", cbr)
        add("useinbandfec", useInbandFEC)
        add("usedtx", useDTX)
        for (key, value) in other { items.append("\(key)=\(value)") }
        return items.joined(separator: ";")
    }

    /// Equality over every field, `other` in order.
    public static func == (lhs: OpusParameters, rhs: OpusParameters) -> Bool {
        lhs.maxPlaybackRate == rhs.maxPlaybackRate && lhs.spropMaxCaptureRate == rhs.spropMaxCaptureRate
            && lhs.maxptime == rhs.maxptime && lhs.ptime == rhs.ptime && lhs.maxAverageBitrate == rhs.maxAverageBitrate
            && lhs.stereo == rhs.stereo && lhs.spropStereo == rhs.spropStereo && lhs.cbr == rhs.cbr
            && lhs.useInbandFEC == rhs.useInbandFEC && lhs.useDTX == rhs.useDTX
            && lhs.other.map(\.key) == rhs.other.map(\.key) && lhs.other.map(\.value) == rhs.other.map(\.value)
    }
}
