import SDP

/// G.711 as an ``AudioTranscoder``: PCMU (payload type 0) or PCMA (8), 8 kHz, 160 bytes per 20 ms
/// (RFC 3551 §4.5.14). Loss is concealed by repeating the last good frame with a fade
/// (in the spirit of G.711 Appendix I, much simplified): each further lost frame is quieter and
/// after ``silentAfterFrames`` lost frames in a row the output is silence.
public struct G711Codec: AudioTranscoder, Sendable {
    /// µ-law or A-law.
    public let law: G711.Law
    /// Lost frames in a row after which concealment gives silence.
    public static let silentAfterFrames = 5

    private var lastFrame: [Int16]
    private var lostInRow = 0

    /// Decode errors (a G.711 payload of the wrong length is decoded as far as it goes and counted).
    public private(set) var decodeErrors = 0

    /// Creates a codec for `law`.
    public init(law: G711.Law) {
        self.law = law
        self.lastFrame = [Int16](repeating: 0, count: 160)
    }

    /// PCMU or PCMA.
    public var codec: AudioCodec {
        switch law {
        case .muLaw: .pcmu
        case .aLaw: .pcma
        }
    }

    /// 8000.
    public var pcmSampleRate: Int { 8000 }
    /// 160.
    public var samplesPerFrame: Int { 160 }
    /// 160.
    public var maxPayloadSize: Int { 160 }

    /// Encodes 160 samples into 160 bytes.
    public mutating func encode(_ pcm: UnsafeBufferPointer<Int16>, into payload: UnsafeMutableRawBufferPointer) throws(MediaError) -> Int {
        guard pcm.count == 160, payload.count >= 160 else {
            throw MediaError(.frameSize, "G.711 encodes 160 samples into 160 bytes, got \(pcm.count) into \(payload.count)")
        }
        return G711.encode(law, pcm, into: payload)
    }

    /// Decodes a payload (normally 160 bytes) and remembers it for concealment.
    public mutating func decode(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        if payload.count != 160 { decodeErrors += 1 }
        guard !payload.isEmpty else { return conceal(into: pcm) }
        let n = G711.decode(law, payload, into: pcm)
        lastFrame.withUnsafeMutableBufferPointer { last in
            for i in 0..<160 { last[i] = i < n ? pcm[i] : 0 }
        }
        lostInRow = 0
        return n
    }

    /// Repeats the last frame, fading linearly across the lost frames to silence.
    public mutating func conceal(into pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        let n = min(160, pcm.count)
        let frames = Double(Self.silentAfterFrames)
        let startGain = max(0, 1 - Double(lostInRow) / frames)
        let endGain = max(0, 1 - Double(lostInRow + 1) / frames)
        lastFrame.withUnsafeBufferPointer { last in
            for i in 0..<n {
                let g = startGain + (endGain - startGain) * Double(i) / Double(n)
                pcm[i] = Int16(Double(last[i]) * g)
            }
        }
        lostInRow += 1
        return n
    }

    /// G.711 carries no redundancy: conceals.
    public mutating func recoverLost(usingNext payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int {
        conceal(into: pcm)
    }
}
