/// The Opus media type parameters of RFC 7587 §6.1 as a value: what the SDP `a=fmtp` line of
/// an `opus/48000/2` payload says. The SDP target parses the fmtp line into key/value pairs;
/// this type reads them and maps them onto encoder ``OpusCodec/Settings``.
public struct OpusParameters: Sendable, Equatable {
    /// `maxplaybackrate`: the highest rate the receiver will play, Hz (default 48000).
    public var maxPlaybackRate: Int = 48000
    /// `sprop-maxcapturerate`: the highest rate the sender captures, Hz (default 48000).
    public var spropMaxCaptureRate: Int = 48000
    /// `maxaveragebitrate`: the most the receiver wants to get, bit/s (6000–510000), if given.
    public var maxAverageBitrate: Int?
    /// `stereo`: whether the receiver prefers stereo (default false).
    public var stereo: Bool = false
    /// `sprop-stereo`: whether the sender is likely to send stereo (default false).
    public var spropStereo: Bool = false
    /// `cbr`: whether the receiver wants constant bitrate (default false).
    public var cbr: Bool = false
    /// `useinbandfec`: whether the receiver can use in-band FEC (default false).
    public var useInbandFEC: Bool = false
    /// `usedtx`: whether the receiver wants discontinuous transmission (default false).
    public var useDTX: Bool = false
    /// `ptime` / `maxptime` / `minptime`, ms, when given.
    public var ptime: Int?
    /// `maxptime`, ms, when given.
    public var maxPtime: Int?

    /// The RFC 7587 defaults.
    public init() {}

    /// Reads parameters from fmtp key/value pairs (names case-insensitive; unknown names and
    /// out-of-range values are ignored, as RFC 7587 §6.1 lets receivers do).
    public init<S: Sequence>(parameters: S) where S.Element == (String, String) {
        for (rawKey, rawValue) in parameters {
            let key = rawKey.lowercased()
            let value = rawValue.trimmingSpaces
            let number = Int(value)
            let flag = value == "1"
            switch key {
            case "maxplaybackrate": if let n = number, (8000...48000).contains(n) { maxPlaybackRate = n }
            case "sprop-maxcapturerate": if let n = number, (8000...48000).contains(n) { spropMaxCaptureRate = n }
            case "maxaveragebitrate": if let n = number, (6000...510_000).contains(n) { maxAverageBitrate = n }
            case "stereo": stereo = flag
            case "sprop-stereo": spropStereo = flag
            case "cbr": cbr = flag
            case "useinbandfec": useInbandFEC = flag
            case "usedtx": useDTX = flag
            case "ptime": ptime = number
            case "maxptime": maxPtime = number
            default: continue
            }
        }
    }

    /// Reads the parameter part of an fmtp line, e.g. `"maxplaybackrate=16000; useinbandfec=1"`.
    public init(fmtp: String) {
        let pairs = fmtp.split(separator: ";").compactMap { item -> (String, String)? in
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]).trimmingSpaces, String(parts[1]))
        }
        self.init(parameters: pairs)
    }

    /// The fmtp parameter string for an offer/answer, listing only values that differ from the defaults.
    public var fmtp: String {
        var items: [String] = []
        if maxPlaybackRate != 48000 { items.append("maxplaybackrate=\(maxPlaybackRate)") }
        if spropMaxCaptureRate != 48000 { items.append("sprop-maxcapturerate=\(spropMaxCaptureRate)") }
        if let b = maxAverageBitrate { items.append("maxaveragebitrate=\(b)") }
        if stereo { items.append("stereo=1") }
        if spropStereo { items.append("sprop-stereo=1") }
        if cbr { items.append("cbr=1") }
        if useInbandFEC { items.append("useinbandfec=1") }
        if useDTX { items.append("usedtx=1") }
        if let p = ptime { items.append("ptime=\(p)") }
        if let p = maxPtime { items.append("maxptime=\(p)") }
        return items.joined(separator: ";")
    }

    /// Encoder settings that honour what the receiver asked for (RFC 7587 §7.1): bandwidth from
    /// `maxplaybackrate`, bitrate capped by `maxaveragebitrate`, FEC only if `useinbandfec=1`,
    /// DTX and CBR as asked. We always send mono (the gateway's audio is mono).
    public func encoderSettings(base: OpusCodec.Settings = OpusCodec.Settings()) -> OpusCodec.Settings {
        var s = base
        s.maxBandwidth = OpusCodec.Bandwidth(maxPlaybackRate: maxPlaybackRate)
        if let cap = maxAverageBitrate { s.bitrate = min(s.bitrate ?? cap, cap) }
        s.inbandFEC = useInbandFEC
        s.dtx = useDTX
        s.constantBitrate = cbr
        return s
    }
}
