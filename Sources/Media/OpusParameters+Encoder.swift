import SDP

/// What the encoder sets from a receiver's parameters (libopus `OPUS_SET_*` ctls).
struct OpusEncoderControls: Equatable, Sendable {
    var maxBandwidth: OpusCodec.Bandwidth
    var bitrate: Int
    var inbandFEC: Bool
    var dtx: Bool
    var constantBitrate: Bool
}

extension OpusParameters {
    /// The one mapping from a receiver's `a=fmtp` to the encoder (RFC 7587 §7.1): bandwidth from
    /// `maxplaybackrate` (48000 when absent, §6.1), our 24 kbit/s capped by `maxaveragebitrate`,
    /// FEC only if `useinbandfec=1`, DTX and CBR as asked (off when absent). We always send mono
    /// (the gateway's audio is mono), whatever `stereo` says; `ptime` is the RTP sender's.
    var encoderControls: OpusEncoderControls {
        OpusEncoderControls(
            maxBandwidth: OpusCodec.Bandwidth(maxPlaybackRate: maxPlaybackRate ?? 48000),
            bitrate: min(OpusCodec.defaultBitrate, maxAverageBitrate ?? OpusCodec.defaultBitrate),
            inbandFEC: useInbandFEC ?? false, dtx: useDTX ?? false, constantBitrate: cbr ?? false)
    }

    /// Only what the encoder uses, in canonical form (bandwidth edge, bitrate cap in whole kbit/s
    /// below our own, flags): parameters that encode alike are equal, so encoded prompts can be
    /// shared per distinct value.
    public var forEncoder: OpusParameters {
        let controls = encoderControls
        let playback: Int = switch controls.maxBandwidth {
        case .narrowband: 8000
        case .mediumband: 12000
        case .wideband: 16000
        case .superWideband: 24000
        case .fullband: 48000
        }
        var result = OpusParameters(maxPlaybackRate: playback, useInbandFEC: controls.inbandFEC, useDTX: controls.dtx)
        result.maxAverageBitrate = max(6_000, controls.bitrate / 1_000 * 1_000)
        result.cbr = controls.constantBitrate
        return result
    }
}
