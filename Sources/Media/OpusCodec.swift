import COpus
import SDP

/// Opus (RFC 6716) through libopus as an ``AudioTranscoder``: mono, frames of 10, 20, 40 or 60 ms
/// (20 unless the negotiated ptime asks otherwise, RFC 7587 §6.1), PCM at 8, 16 or
/// 48 kHz (libopus resamples internally), RTP clock 48 kHz (RFC 7587 §4.1), with in-band FEC
/// (RFC 6716 §2.1.7) and libopus's packet loss concealment.
///
/// A reference type because it owns libopus encoder and decoder state; not `Sendable` — keep
/// one per call, inside the actor or event loop that runs the call's media.
public final class OpusCodec: AudioTranscoder {
    /// Our own bitrate (VoIP: 24 kbit/s); a receiver's `maxaveragebitrate` only lowers it.
    public static let defaultBitrate = 24_000
    /// libopus complexity (0–10).
    static let complexity: Int32 = 5
    /// Expected loss in percent; FEC is only spent when this is above 0 (`OPUS_SET_PACKET_LOSS_PERC`).
    static let expectedLossPercent: Int32 = 10
    /// What an encoder uses when nobody asked otherwise: in-band FEC on, full band.
    public static let defaultParameters = OpusParameters(useInbandFEC: true)

    /// Opus audio bandwidths (RFC 6716 §2).
    public enum Bandwidth: Sendable, Equatable {
        /// 4 kHz audio (8 kHz sampling).
        case narrowband
        /// 6 kHz audio.
        case mediumband
        /// 8 kHz audio (16 kHz sampling).
        case wideband
        /// 12 kHz audio.
        case superWideband
        /// 20 kHz audio.
        case fullband

        var opusValue: Int32 {
            switch self {
            case .narrowband: 1101
            case .mediumband: 1102
            case .wideband: 1103
            case .superWideband: 1104
            case .fullband: 1105
            }
        }

        /// The bandwidth that fits a receiver's `maxplaybackrate` (RFC 7587 §6.1 / §7.1).
        public init(maxPlaybackRate: Int) {
            switch maxPlaybackRate {
            case ..<12000: self = .narrowband
            case ..<16000: self = .mediumband
            case ..<24000: self = .wideband
            case ..<48000: self = .superWideband
            default: self = .fullband
            }
        }
    }

    /// Opus.
    public var codec: AudioCodec { .opus }
    /// PCM rate: 8000, 16000 or 48000.
    public let pcmSampleRate: Int
    /// The frame durations the encoder makes that are whole ms multiples of 10 (RFC 6716 §2.1.4
    /// also has 2.5 and 5 ms, which no SDP `a=ptime` names).
    public static let frameDurations = [10, 20, 40, 60]
    /// The duration of one encoded frame, ms.
    public let frameMilliseconds: Int
    /// ``frameMilliseconds`` at ``pcmSampleRate``.
    public var samplesPerFrame: Int { pcmSampleRate * frameMilliseconds / 1000 }
    /// 1275 bytes: the largest Opus frame (RFC 6716 §3.4 R2).
    public var maxPayloadSize: Int { 1275 }
    /// Payloads libopus refused to decode (concealed instead).
    public private(set) var decodeErrors = 0
    /// The settings in force.
    /// The receiver's RFC 7587 §6.1 parameters the encoder follows (`OpusParameters.encoderControls`).
    public let parameters: OpusParameters

    private let encoder: OpaquePointer
    private let decoder: OpaquePointer

    /// Creates an encoder/decoder pair at `pcmSampleRate` (8000, 16000 or 48000) encoding frames
    /// of `frameMilliseconds` (one of ``frameDurations``).
    public init(pcmSampleRate: Int = 8000, parameters: OpusParameters = OpusCodec.defaultParameters, frameMilliseconds: Int = 20) throws(MediaError) {
        guard [8000, 16000, 48000].contains(pcmSampleRate) else {
            throw MediaError(.opusFailed, "Opus PCM rate must be 8000, 16000 or 48000, not \(pcmSampleRate)")
        }
        guard Self.frameDurations.contains(frameMilliseconds) else {
            throw MediaError(.frameSize, "Opus frames are 10, 20, 40 or 60 ms (RFC 6716 §2.1.4), not \(frameMilliseconds)")
        }
        self.frameMilliseconds = frameMilliseconds
        var error: Int32 = 0
        guard let enc = opus_encoder_create(Int32(pcmSampleRate), 1, OPUS_APPLICATION_VOIP, &error), error == OPUS_OK else {
            throw MediaError(.opusFailed, "opus_encoder_create: \(Self.describe(error))")
        }
        guard let dec = opus_decoder_create(Int32(pcmSampleRate), 1, &error), error == OPUS_OK else {
            opus_encoder_destroy(enc)
            throw MediaError(.opusFailed, "opus_decoder_create: \(Self.describe(error))")
        }
        encoder = enc
        decoder = dec
        self.pcmSampleRate = pcmSampleRate
        self.parameters = parameters
        let controls = parameters.encoderControls
        let results: [Int32] = [
            copus_encoder_set_complexity(enc, Self.complexity),
            copus_encoder_set_inband_fec(enc, controls.inbandFEC ? 1 : 0),
            copus_encoder_set_packet_loss_perc(enc, Self.expectedLossPercent),
            copus_encoder_set_dtx(enc, controls.dtx ? 1 : 0),
            copus_encoder_set_vbr(enc, controls.constantBitrate ? 0 : 1),
            copus_encoder_set_max_bandwidth(enc, controls.maxBandwidth.opusValue),
            copus_encoder_set_signal(enc, 3001),  // OPUS_SIGNAL_VOICE
            copus_encoder_set_bitrate(enc, Int32(controls.bitrate)),
        ]
        if let bad = results.first(where: { $0 != OPUS_OK }) {
            throw MediaError(.opusFailed, "opus_encoder_ctl: \(Self.describe(bad))")
        }
    }

    deinit {
        opus_encoder_destroy(encoder)
        opus_decoder_destroy(decoder)
    }

    /// Encodes one frame of ``samplesPerFrame`` samples.
    public func encode(_ pcm: UnsafeBufferPointer<Int16>, into payload: UnsafeMutableRawBufferPointer) throws(MediaError) -> Int {
        guard pcm.count == samplesPerFrame, let base = pcm.baseAddress,
              let out = payload.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw MediaError(.frameSize, "Opus encodes \(samplesPerFrame) samples, got \(pcm.count)")
        }
        let n = opus_encode(encoder, base, Int32(samplesPerFrame), out, Int32(min(payload.count, maxPayloadSize)))
        guard n >= 0 else { throw MediaError(.opusFailed, "opus_encode: \(Self.describe(n))") }
        return Int(n)
    }

    /// Decodes one payload; on a libopus error counts it and conceals.
    public func decode(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        decode(payload, into: pcm, fec: false)
    }

    /// libopus packet loss concealment (decode with no data).
    public func conceal(into pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard let out = pcm.baseAddress, pcm.count >= samplesPerFrame else { return 0 }
        let n = opus_decode(decoder, nil, 0, out, Int32(samplesPerFrame), 0)
        return n >= 0 ? Int(n) : fillSilence(pcm)
    }

    /// Decodes the FEC data carried in the packet after a lost one (`decode_fec = 1`).
    public func recoverLost(usingNext payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        decode(payload, into: pcm, fec: true)
    }

    /// Resets encoder and decoder state (e.g. before encoding an independent prompt).
    public func reset() {
        _ = copus_encoder_reset(encoder)
        _ = copus_decoder_reset(decoder)
    }

    private func decode(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>, fec: Bool) -> Int {
        guard let out = pcm.baseAddress, pcm.count >= samplesPerFrame else { return 0 }
        guard let data = payload.baseAddress?.assumingMemoryBound(to: UInt8.self), !payload.isEmpty else {
            return conceal(into: pcm)
        }
        // A packet decodes whole, whatever its duration, when `pcm` has room (the peer packetizes
        // at its own ptime, RFC 8866 §6.4); FEC recovers exactly one of our frames (RFC 6716 §2.1.7).
        let room = fec ? samplesPerFrame : pcm.count
        let n = opus_decode(decoder, data, Int32(payload.count), out, Int32(room), fec ? 1 : 0)
        guard n >= 0 else {
            decodeErrors += 1
            return conceal(into: pcm)
        }
        return Int(n)
    }

    private func fillSilence(_ pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        let n = min(samplesPerFrame, pcm.count)
        for i in 0..<n { pcm[i] = 0 }
        return n
    }

    private static func describe(_ code: Int32) -> String {
        if let s = opus_strerror(code) { return String(cString: s) }
        return "error \(code)"
    }
}
