import Foundation

/// Signal levels in dBm0 for 16-bit linear PCM, following ITU-T G.711.
///
/// G.711 (§ "Table 5", the theoretical load capacity) puts the maximum of the µ-law coder at
/// +3.17 dBm0: a sine wave whose peak reaches µ-law full scale is at +3.17 dBm0. So a 0 dBm0
/// sine has a peak 3.17 dB below full scale. With full scale taken as 32768 (16-bit), a 0 dBm0
/// sine has a peak amplitude of 32768 · 10^(−3.17/20) ≈ 22,702 and an RMS of ≈ 16,053.
/// (A-law's capacity is +3.14 dBm0; we use the µ-law figure for both, a 0.03 dB difference.)
public enum AudioLevel: Sendable {
    /// µ-law theoretical load capacity, ITU-T G.711: +3.17 dBm0.
    public static let muLawMaximumDBm0: Double = 3.17

    /// Peak amplitude (16-bit units) of a 0 dBm0 sine.
    public static let zeroDBm0Peak: Double = 32768 * pow10(-muLawMaximumDBm0 / 20)

    /// Peak amplitude of a sine at `dBm0`.
    public static func sinePeak(dBm0: Double) -> Double {
        zeroDBm0Peak * pow10(dBm0 / 20)
    }

    /// Mean power (in 16-bit units squared) of a signal at `dBm0` (a sine at that level has this power).
    public static func power(dBm0: Double) -> Double {
        let peak = sinePeak(dBm0: dBm0)
        return peak * peak / 2
    }

    /// The level in dBm0 of a signal with mean power `power` (16-bit units squared).
    public static func dBm0(power: Double) -> Double {
        guard power > 0 else { return -.infinity }
        return 10 * log10(power / self.power(dBm0: 0))
    }

    /// The level in dBm0 of a block of samples (mean power).
    public static func dBm0<C: Collection>(of samples: C) -> Double where C.Element == Int16 {
        guard !samples.isEmpty else { return -.infinity }
        var sum = 0.0
        for s in samples { sum += Double(s) * Double(s) }
        return dBm0(power: sum / Double(samples.count))
    }
}

@inline(__always) func pow10(_ x: Double) -> Double { pow(10, x) }
