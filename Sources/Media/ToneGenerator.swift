import Foundation

/// A generator of one or two summed sine tones into 16-bit PCM, continuous across calls
/// (phase is kept), used for DTMF sending (ITU-T Q.23) and for synthesizing test signals.
public struct ToneGenerator: Sendable {
    /// One sine component.
    public struct Tone: Sendable, Equatable {
        /// Frequency in Hz.
        public var frequency: Double
        /// Level in dBm0 (see ``AudioLevel``).
        public var dBm0: Double
        /// Creates a tone.
        public init(frequency: Double, dBm0: Double) {
            self.frequency = frequency
            self.dBm0 = dBm0
        }
    }

    /// The sample rate in Hz.
    public let sampleRate: Double
    /// The components.
    public private(set) var tones: [Tone]
    private var phases: [Double]
    private var increments: [Double]
    private var amplitudes: [Double]

    /// Creates a generator for `tones` at `sampleRate`.
    public init(tones: [Tone], sampleRate: Double = 8000) {
        self.sampleRate = sampleRate
        self.tones = tones
        self.phases = Array(repeating: 0, count: tones.count)
        self.increments = tones.map { 2 * Double.pi * $0.frequency / sampleRate }
        self.amplitudes = tones.map { AudioLevel.sinePeak(dBm0: $0.dBm0) }
    }

    /// Sets the starting phase (radians) of every component.
    public mutating func setPhase(_ phase: Double) {
        for i in phases.indices { phases[i] = phase }
    }

    /// Adds (not overwrites) the next `output.count` samples into `output`, saturating at 16 bits.
    public mutating func add(into output: UnsafeMutableBufferPointer<Int16>) {
        for n in 0..<output.count {
            var v = Double(output[n])
            for k in phases.indices {
                v += amplitudes[k] * sin(phases[k])
                phases[k] += increments[k]
                if phases[k] > 2 * Double.pi { phases[k] -= 2 * Double.pi }
            }
            output[n] = Int16(clamping: Int(v.rounded()))
        }
    }

    /// Writes the next `count` samples into a new array.
    public mutating func generate(count: Int) -> [Int16] {
        var out = [Int16](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { add(into: $0) }
        return out
    }
}

/// DTMF signal synthesis (ITU-T Q.23 frequencies) for in-band sending, prompts and tests.
public enum DTMFGenerator: Sendable {
    /// The two tones of `digit`; the high group is `twistDB` louder than the low group (negative:
    /// quieter), each tone shifted by the given relative deviation (0.015 = +1.5 %).
    public static func tones(
        for digit: DTMFDigit, dBm0: Double = -10, twistDB: Double = 0,
        lowDeviation: Double = 0, highDeviation: Double = 0
    ) -> [ToneGenerator.Tone] {
        [
            .init(frequency: digit.lowFrequency * (1 + lowDeviation), dBm0: dBm0),
            .init(frequency: digit.highFrequency * (1 + highDeviation), dBm0: dBm0 + twistDB),
        ]
    }

    /// Samples of `digits` (keypad characters), each `toneMs` long followed by `gapMs` of silence,
    /// at `dBm0` per tone, 8 kHz. Characters that are not keypad keys are skipped.
    public static func samples(
        _ digits: String, toneMs: Int = 100, gapMs: Int = 100, dBm0: Double = -10, sampleRate: Int = 8000
    ) -> [Int16] {
        var out: [Int16] = []
        for ch in digits {
            guard let digit = DTMFDigit(character: ch) else { continue }
            var gen = ToneGenerator(tones: tones(for: digit, dBm0: dBm0), sampleRate: Double(sampleRate))
            out += gen.generate(count: toneMs * sampleRate / 1000)
            out += [Int16](repeating: 0, count: gapMs * sampleRate / 1000)
        }
        return out
    }
}
