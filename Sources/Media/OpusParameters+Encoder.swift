import SDP

extension OpusParameters {
    /// Encoder settings that honour what the receiver asked for in its `a=fmtp` (RFC 7587 §7.1):
    /// bandwidth from `maxplaybackrate` (48000 when absent, §6.1), bitrate capped by
    /// `maxaveragebitrate`, FEC only if `useinbandfec=1`, DTX and CBR as asked (off when absent).
    /// We always send mono (the gateway's audio is mono), whatever `stereo` says.
    public func encoderSettings(base: OpusCodec.Settings = OpusCodec.Settings()) -> OpusCodec.Settings {
        var s = base
        s.maxBandwidth = OpusCodec.Bandwidth(maxPlaybackRate: maxPlaybackRate ?? 48000)
        if let cap = maxAverageBitrate { s.bitrate = min(s.bitrate ?? cap, cap) }
        s.inbandFEC = useInbandFEC ?? false
        s.dtx = useDTX ?? false
        s.constantBitrate = cbr ?? false
        return s
    }
}
