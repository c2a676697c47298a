/// Plays keys in-band as 20 ms frames of 8 kHz PCM: each key's two Q.23 tones for
/// ``toneMs``, then ``gapMs`` of silence (defaults 100 ms / 100 ms, well above the Q.24 minimum
/// of 40 ms each). For peers that take DTMF only as audio; RFC 4733 events are sent by the RTP
/// target. Allocates only when created.
public struct DTMFSender: Sendable {
    /// Tone length per key, ms.
    public let toneMs: Int
    /// Silence after each key, ms.
    public let gapMs: Int
    /// Level of each tone, dBm0 (high group 2 dB above the low group, as telephones send it).
    public let dBm0: Double

    private let digits: [DTMFDigit]
    private var index = 0
    private var sampleInDigit = 0
    private var generator: ToneGenerator?

    /// Creates a sender for the keypad characters in `keys` (others are skipped).
    public init(keys: String, toneMs: Int = 100, gapMs: Int = 100, dBm0: Double = -8) {
        self.digits = keys.compactMap(DTMFDigit.init(character:))
        self.toneMs = toneMs
        self.gapMs = gapMs
        self.dBm0 = dBm0
    }

    /// Whether every key has been played.
    public var isFinished: Bool { index >= digits.count }

    /// Fills `frame` (any length, normally 160) with the next samples; returns false when done
    /// (the frame is then silence).
    public mutating func nextFrame(into frame: UnsafeMutableBufferPointer<Int16>) -> Bool {
        for i in 0..<frame.count { frame[i] = 0 }
        guard !isFinished else { return false }
        let toneSamples = toneMs * 8, total = (toneMs + gapMs) * 8
        var n = 0
        while n < frame.count, index < digits.count {
            if sampleInDigit == 0 {
                generator = ToneGenerator(tones: DTMFGenerator.tones(for: digits[index], dBm0: dBm0 - 1, twistDB: 2))
            }
            let toneLeft = max(0, toneSamples - sampleInDigit)
            let take = min(frame.count - n, total - sampleInDigit)
            let toneTake = min(take, toneLeft)
            if toneTake > 0, let base = frame.baseAddress {
                generator?.add(into: UnsafeMutableBufferPointer(start: base + n, count: toneTake))
            }
            n += take
            sampleInDigit += take
            if sampleInDigit >= total {
                sampleInDigit = 0
                index += 1
            }
        }
        return true
    }
}
