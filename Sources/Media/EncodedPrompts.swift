/// A locale's prompts encoded once for one codec, so playing a readout costs no encoding: the
/// player hands out the stored 20 ms payloads in order.
///
/// Build one per (locale, codec) when the gateway starts (or lazily, then share it: it is an
/// immutable `Sendable` value). Each prompt is encoded with a fresh codec instance, padded with
/// silence to whole 20 ms frames, so prompts can be joined in any order.
public struct EncodedPrompts: Sendable {
    /// The SDP encoding name of the codec the frames are for.
    public let encodingName: String
    /// The locale of the prompts.
    public let locale: String
    /// Payload frames per prompt.
    public let frames: [PromptName: [[UInt8]]]
    /// The payload of one 20 ms frame of silence.
    public let silenceFrame: [UInt8]

    /// Encodes every prompt of `library` with codecs from `makeCodec` (8 kHz PCM codecs: G.711,
    /// or Opus created with `pcmSampleRate: 8000`).
    public init(library: PromptLibrary, makeCodec: () throws(MediaError) -> any AudioTranscoder) throws(MediaError) {
        var frames: [PromptName: [[UInt8]]] = [:]
        var name = ""
        for (prompt, pcm) in library.prompts {
            var codec = try makeCodec()
            name = codec.encodingName
            guard codec.pcmSampleRate == 8000 else {
                throw MediaError(.frameSize, "prompts are 8 kHz; the codec takes \(codec.pcmSampleRate) Hz PCM")
            }
            let padded = pcm + [Int16](repeating: 0, count: Self.padding(pcm.count))
            var list: [[UInt8]] = []
            list.reserveCapacity(padded.count / 160)
            for start in stride(from: 0, to: padded.count, by: 160) {
                list.append(try codec.encode(Array(padded[start..<(start + 160)])))
            }
            frames[prompt] = list
        }
        var codec = try makeCodec()
        silenceFrame = try codec.encode([Int16](repeating: 0, count: 160))
        encodingName = codec.encodingName.isEmpty ? name : codec.encodingName
        locale = library.locale
        self.frames = frames
    }

    /// A player for `script`: the sequence of cached payloads (allocates one array of references
    /// per playback, nothing per frame).
    public func player(for script: PromptScript) -> PromptPlayer {
        var list: [[UInt8]] = []
        for segment in script.segments {
            switch segment {
            case .prompt(let name):
                list += frames[name] ?? []
            case .silence(let ms):
                list += repeatElement(silenceFrame, count: Self.silenceFrames(ms: ms))
            }
        }
        return PromptPlayer(frames: list)
    }

    /// Samples of silence that pad `count` samples to whole 160-sample frames.
    static func padding(_ count: Int) -> Int { (160 - count % 160) % 160 }

    /// Whole 20 ms frames for a pause of `ms`, rounded to the nearest.
    static func silenceFrames(ms: Int) -> Int { max(0, (ms + 10) / 20) }
}

/// Hands out the encoded 20 ms payloads of one playback in order.
public struct PromptPlayer: Sendable {
    private let frames: [[UInt8]]
    private var index = 0

    init(frames: [[UInt8]]) { self.frames = frames }

    /// The number of frames in the playback.
    public var frameCount: Int { frames.count }
    /// Frames not yet handed out.
    public var remaining: Int { frames.count - index }
    /// The playback's duration in ms.
    public var durationMs: Int { frames.count * 20 }

    /// The next payload, or nil at the end. The array is the cached one (no copy, no encoding).
    public mutating func nextFrame() -> [UInt8]? {
        guard index < frames.count else { return nil }
        defer { index += 1 }
        return frames[index]
    }

    /// Starts over (e.g. the caller asked to hear it again).
    public mutating func rewind() { index = 0 }
}
