/// A locale's prompts encoded once for one codec, so playing a readout costs no encoding: the
/// player hands out the stored payloads in order, each the negotiated `ptime` long.
///
/// Build one per (locale, codec) when the gateway starts (or lazily, then share it: it is an
/// immutable `Sendable` value). Each prompt is encoded with a fresh codec instance, padded with
/// silence to whole frames of the codec's ``AudioTranscoder/samplesPerFrame`` (20 ms for G.711;
/// for Opus the frame duration the codec was made with, RFC 6716 §2.1.4), so prompts can be
/// joined in any order.
public struct EncodedPrompts: Sendable {
    /// The SDP encoding name of the codec the frames are for.
    public let encodingName: String
    /// The locale of the prompts.
    public let locale: String
    /// Payload frames per prompt.
    public let frames: [PromptName: [[UInt8]]]
    /// The payload of one frame of silence.
    public let silenceFrame: [UInt8]
    /// The duration of each stored frame in ms.
    public let frameMilliseconds: Int
    /// True when a payload is one byte per sample (G.711, RFC 3551 §4.5.14), so a playback can be
    /// re-cut into packets of any duration without re-encoding.
    public let isSampleStream: Bool

    /// Encodes every prompt of `library` with codecs from `makeCodec` (8 kHz PCM codecs: G.711,
    /// or Opus created with `pcmSampleRate: 8000`).
    public init(library: PromptLibrary, makeCodec: () throws(MediaError) -> any AudioTranscoder) throws(MediaError) {
        var frames: [PromptName: [[UInt8]]] = [:]
        var codec = try makeCodec()
        guard codec.pcmSampleRate == 8000 else {
            throw MediaError(.frameSize, "prompts are 8 kHz; the codec takes \(codec.pcmSampleRate) Hz PCM")
        }
        let samples = codec.samplesPerFrame
        for (prompt, pcm) in library.prompts {
            var codec = try makeCodec()
            let padded = pcm + [Int16](repeating: 0, count: Self.padding(pcm.count, frame: samples))
            var list: [[UInt8]] = []
            list.reserveCapacity(padded.count / samples)
            for start in stride(from: 0, to: padded.count, by: samples) {
                list.append(try codec.encode(Array(padded[start..<(start + samples)])))
            }
            frames[prompt] = list
        }
        silenceFrame = try codec.encode([Int16](repeating: 0, count: samples))
        frameMilliseconds = samples / 8
        isSampleStream = codec.codec == .pcmu || codec.codec == .pcma
        encodingName = codec.encodingName
        locale = library.locale
        self.frames = frames
    }

    /// A player for `script` whose payloads each carry `ptime` ms of audio (RFC 8866 §6.4; nil:
    /// the stored frame duration). G.711 frames are one byte per sample, so the playback's byte
    /// stream is re-cut into `ptime` × 8 byte payloads (30 ms is one and a half stored frames),
    /// the last padded with silence: one copy of the bytes per playback, no encoding. Opus frames
    /// cannot be re-cut: the store encodes them at the negotiated ptime (`PromptStore`), and
    /// `ptime` is ignored here. Allocates one array of references per playback when it need not
    /// re-cut, nothing per frame.
    public func player(for script: PromptScript, ptime: Int? = nil) -> PromptPlayer {
        var list: [[UInt8]] = []
        for segment in script.segments {
            switch segment {
            case .prompt(let name):
                list += frames[name] ?? []
            case .silence(let ms):
                list += repeatElement(silenceFrame, count: Self.silenceFrames(ms: ms, frame: frameMilliseconds))
            }
        }
        guard isSampleStream, let ptime, ptime > 0, ptime != frameMilliseconds else {
            return PromptPlayer(frames: list, frameMilliseconds: frameMilliseconds)
        }
        return PromptPlayer(frames: Self.recut(list, bytes: ptime * 8, silence: silenceFrame.first ?? 0), frameMilliseconds: ptime)
    }

    /// The bytes of `frames` in order, cut into payloads of `bytes`, the last padded with `silence`.
    static func recut(_ frames: [[UInt8]], bytes: Int, silence: UInt8) -> [[UInt8]] {
        var stream = frames.flatMap { $0 }
        stream += repeatElement(silence, count: (bytes - stream.count % bytes) % bytes)
        return stride(from: 0, to: stream.count, by: bytes).map { Array(stream[$0..<($0 + bytes)]) }
    }

    /// Samples of silence that pad `count` samples to whole frames of `frame` samples.
    static func padding(_ count: Int, frame: Int = 160) -> Int { (frame - count % frame) % frame }

    /// Whole frames of `frame` ms for a pause of `ms`, rounded to the nearest.
    static func silenceFrames(ms: Int, frame: Int = 20) -> Int { max(0, (ms + frame / 2) / frame) }
}

/// Hands out the encoded payloads of one playback in order, each ``frameMilliseconds`` long.
public struct PromptPlayer: Sendable {
    private let frames: [[UInt8]]
    private var index = 0
    /// The audio each payload carries, ms (the negotiated ptime).
    public let frameMilliseconds: Int

    init(frames: [[UInt8]], frameMilliseconds: Int = 20) {
        self.frames = frames
        self.frameMilliseconds = frameMilliseconds
    }

    /// The number of frames in the playback.
    public var frameCount: Int { frames.count }
    /// Frames not yet handed out.
    public var remaining: Int { frames.count - index }
    /// The playback's duration in ms.
    public var durationMs: Int { frames.count * frameMilliseconds }

    /// The next payload, or nil at the end. The array is the cached one (no copy, no encoding).
    public mutating func nextFrame() -> [UInt8]? {
        guard index < frames.count else { return nil }
        defer { index += 1 }
        return frames[index]
    }

    /// Starts over (e.g. the caller asked to hear it again).
    public mutating func rewind() { index = 0 }
}
