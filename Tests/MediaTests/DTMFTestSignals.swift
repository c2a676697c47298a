import TestSupport
import Foundation
@testable import Media

/// Test-side signal synthesis, independent of the library's generator: sums of sines at levels
/// in dBm0 (0 dBm0 = sine peak 3.17 dB below 16-bit full scale, ITU-T G.711), silence, and
/// seeded white noise.
enum Signal {
    static let zeroDBm0Peak = 32768 * pow(10, -3.17 / 20)

    static func peak(_ dBm0: Double) -> Double { zeroDBm0Peak * pow(10, dBm0 / 20) }

    /// Two tones as Doubles (so noise can be added before quantizing).
    static func dual(_ f1: Double, _ l1: Double, _ f2: Double, _ l2: Double, samples: Int, phase: Double = 0.3) -> [Double] {
        let a1 = peak(l1), a2 = peak(l2)
        return (0..<samples).map { n in
            let t = Double(n) / 8000
            return a1 * sin(2 * .pi * f1 * t + phase) + a2 * sin(2 * .pi * f2 * t + 2 * phase)
        }
    }

    static func digit(
        _ d: DTMFDigit, ms: Double, dBm0: Double = -10, twistHighOverLowDB: Double = 0,
        lowDeviation: Double = 0, highDeviation: Double = 0
    ) -> [Double] {
        dual(d.lowFrequency * (1 + lowDeviation), dBm0,
             d.highFrequency * (1 + highDeviation), dBm0 + twistHighOverLowDB,
             samples: Int(ms * 8))
    }

    static func silence(ms: Double) -> [Double] { Array(repeating: 0, count: Int(ms * 8)) }

    static func pcm(_ x: [Double]) -> [Int16] { x.map { Int16(clamping: Int($0.rounded())) } }

    /// Adds white Gaussian noise with the given power (16-bit units squared), seeded.
    static func addNoise(_ x: [Double], power: Double, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        let sigma = power.squareRoot()
        return x.map { v in
            // Box–Muller.
            let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300)
            let u2 = Double(rng.next() >> 11) / Double(1 << 53)
            return v + sigma * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }
    }

    static func meanPower(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 } / Double(x.count) }

    static func detect(_ samples: [Int16], chunk: Int = 160) -> [DTMFDigit] {
        var detector = DTMFDetector()
        var out: [DTMFDigit] = []
        var i = 0
        while i < samples.count {
            let end = min(i + chunk, samples.count)
            out += detector.process(Array(samples[i..<end])).map(\.digit)
            i = end
        }
        return out
    }
}

