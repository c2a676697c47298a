import Foundation

// In-band DTMF detector (ITU-T Q.23 frequencies, Q.24 receiver figures) on 8 kHz 16-bit PCM.
//
// Written by hand: the field's detectors (spandsp dtmf.c, Asterisk dsp.c) are C and GPL/LGPL
// code with global state; this one is a small value type that allocates nothing per frame. It
// follows their structure — a bank of eight Goertzel filters over fixed blocks, a level
// threshold, twist limits, and the test that the two tones carry nearly all of the block's
// energy (which also rejects strong harmonics, as their second-harmonic checks did) — and adds
// a frequency measurement: the phase advance of each Goertzel output from one block to the next
// gives the tone's offset from nominal, so ±1.5 % is accepted and ±3.5 % rejected for every tone
// (a fixed-length Goertzel alone cannot tell 1633 Hz + 1.5 % from 697 Hz + 3.5 %: both are
// 24 Hz off). Blocks are 80 samples (10 ms); a digit needs three consecutive qualifying blocks,
// so 40 ms tones are always caught and tones of 23 ms or less never are.

/// In-band DTMF detector for 8 kHz 16-bit linear PCM (ITU-T Q.24 receiver figures).
///
/// Feed it decoded audio in frames of any length; it reports each key once, when the tone
/// starts (after three 10 ms blocks). Nothing is allocated per call.
public struct DTMFDetector: Sendable {
    /// Tunable limits; the defaults meet ITU-T Q.24 as spandsp and Asterisk read it.
    public struct Configuration: Sendable, Equatable {
        /// Minimum level of each tone, dBm0 (Q.24: receivers work down to about −30 dBm0 per tone).
        public var thresholdDBm0: Double = -38
        /// How much louder the low group may be than the high group, dB ("normal" or forward
        /// twist, 8 dB in spandsp `dtmf_normal_twist` and Asterisk `DTMF_NORMAL_TWIST`), plus a
        /// measurement margin.
        public var normalTwistDB: Double = 9.5
        /// How much louder the high group may be than the low group, dB (reverse twist, 4 dB in
        /// spandsp and Asterisk), plus a measurement margin.
        public var reverseTwistDB: Double = 5.5
        /// Largest relative offset of a tone from its nominal frequency (Q.24: accept ±1.5 %,
        /// reject ±3.5 %; the limit sits between).
        public var frequencyTolerance: Double = 0.025
        /// Share of the block's energy the two tones must carry (spandsp uses −0.85 dB ≈ 0.82 on
        /// 102-sample blocks; with 80-sample blocks a slightly lower share keeps ±1.5 % tones).
        public var energyShare: Double = 0.75
        /// Creates the default configuration.
        public init() {}
    }

    /// A detected key.
    public struct Detection: Sendable, Equatable {
        /// The key.
        public var digit: DTMFDigit
        /// Sample index (counted from the first sample fed) where the tone began, to within a block.
        public var startSample: Int
        /// Creates a detection.
        public init(digit: DTMFDigit, startSample: Int) {
            self.digit = digit
            self.startSample = startSample
        }
    }

    /// Samples per analysis block (10 ms at 8 kHz).
    public static let blockSize = 80
    /// The sample rate the detector is built for.
    public static let sampleRate = 8000.0

    private let configuration: Configuration
    private let coefficients: SIMD8<Float>
    private let cosines: SIMD8<Float>
    private let sines: SIMD8<Float>
    /// ω·N modulo 2π: the phase advance of a nominal tone over one block.
    private let blockAdvance: SIMD8<Float>
    private let frequencies: SIMD8<Float>
    private let threshold: Float
    private let normalTwist: Float
    private let reverseTwist: Float
    private let shareFactor: Float

    private var s1 = SIMD8<Float>(repeating: 0)
    private var s2 = SIMD8<Float>(repeating: 0)
    private var energy: Float = 0
    private var position = 0
    private var blockStart = 0

    private var previousRe = SIMD8<Float>(repeating: 0)
    private var previousIm = SIMD8<Float>(repeating: 0)
    /// The digit whose level, twist and energy tests the previous block passed (rawValue, or −1).
    private var previousCandidate: Int = -1
    /// Consecutive blocks that passed every test for `runDigit`.
    private var runLength = 0
    private var runDigit: Int = -1
    private var runStart = 0
    /// The digit being reported as present, or −1.
    private var inDigit: Int = -1
    private var misses = 0

    /// Total samples fed so far.
    public private(set) var samplesProcessed = 0

    /// The key currently sounding (already reported), if any.
    public var currentDigit: DTMFDigit? {
        inDigit >= 0 ? DTMFDigit(rawValue: UInt8(inDigit)) : nil
    }

    /// Creates a detector.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let freqs = DTMFDigit.lowGroup + DTMFDigit.highGroup
        var c = SIMD8<Float>(), co = SIMD8<Float>(), si = SIMD8<Float>(), adv = SIMD8<Float>(), f = SIMD8<Float>()
        for i in 0..<8 {
            let w = 2 * Double.pi * freqs[i] / Self.sampleRate
            c[i] = Float(2 * cos(w))
            co[i] = Float(cos(w))
            si[i] = Float(sin(w))
            adv[i] = Float((w * Double(Self.blockSize)).truncatingRemainder(dividingBy: 2 * Double.pi))
            f[i] = Float(freqs[i])
        }
        coefficients = c
        cosines = co
        sines = si
        blockAdvance = adv
        frequencies = f
        // Goertzel power of a full-block sine of peak A is (A·N/2)².
        let a = AudioLevel.sinePeak(dBm0: configuration.thresholdDBm0) * Double(Self.blockSize) / 2
        threshold = Float(a * a)
        normalTwist = Float(pow(10, configuration.normalTwistDB / 10))
        reverseTwist = Float(pow(10, configuration.reverseTwistDB / 10))
        // Two pure tones give (P_row + P_col) = (N/2)·energy.
        shareFactor = Float(configuration.energyShare * Double(Self.blockSize) / 2)
    }

    /// Feeds samples; calls `onDigit` for each key that starts within them.
    public mutating func process(_ samples: UnsafeBufferPointer<Int16>, onDigit: (Detection) -> Void) {
        var i = 0
        let n = samples.count
        while i < n {
            let take = min(Self.blockSize - position, n - i)
            var a = s1, b = s2, e = energy
            let c = coefficients
            for j in i..<(i + take) {
                let x = Float(samples[j])
                e += x * x
                let s0 = c * a - b + SIMD8(repeating: x)
                b = a
                a = s0
            }
            s1 = a
            s2 = b
            energy = e
            position += take
            i += take
            samplesProcessed += take
            if position == Self.blockSize {
                if let detection = endOfBlock() { onDigit(detection) }
                position = 0
                blockStart = samplesProcessed
                s1 = .zero
                s2 = .zero
                energy = 0
            }
        }
    }

    /// Feeds samples and returns the keys that start within them (convenience for tests and tools).
    public mutating func process(_ samples: [Int16]) -> [Detection] {
        var found: [Detection] = []
        samples.withUnsafeBufferPointer { buffer in
            process(buffer) { found.append($0) }
        }
        return found
    }

    /// Forgets any partial block and tone in progress (e.g. after a gap in the stream).
    public mutating func reset() {
        s1 = .zero
        s2 = .zero
        energy = 0
        position = 0
        blockStart = samplesProcessed
        previousCandidate = -1
        runLength = 0
        runDigit = -1
        inDigit = -1
        misses = 0
    }

    private mutating func endOfBlock() -> Detection? {
        let power = s1 * s1 + s2 * s2 - coefficients * s1 * s2
        // y = s1 − e^{−jω}·s2: the block's DFT value up to a phase constant common to all blocks.
        let re = s1 - cosines * s2
        let im = sines * s2

        var bestRow = 0, bestCol = 4
        for k in 1..<4 where power[k] > power[bestRow] { bestRow = k }
        for k in 5..<8 where power[k] > power[bestCol] { bestCol = k }
        let pr = power[bestRow], pc = power[bestCol]

        var candidate = -1
        if pr >= threshold, pc >= threshold,
           pr <= pc * normalTwist, pc <= pr * reverseTwist,
           pr + pc >= shareFactor * energy
        {
            candidate = Int(DTMFDigit.at(row: bestRow, column: bestCol - 4).rawValue)
        }

        var hit = false
        if candidate >= 0, candidate == previousCandidate,
           withinTolerance(bestRow, re, im), withinTolerance(bestCol, re, im)
        {
            hit = true
        }

        previousRe = re
        previousIm = im
        previousCandidate = candidate

        var detection: Detection?
        if hit {
            if runDigit == candidate {
                runLength += 1
            } else {
                runDigit = candidate
                runLength = 1
                runStart = blockStart - Self.blockSize
            }
            if inDigit == candidate {
                misses = 0
            } else if runLength >= 2 {
                // Three consecutive qualifying blocks (two frequency checks): a new key.
                inDigit = candidate
                misses = 0
                detection = Detection(digit: DTMFDigit(rawValue: UInt8(candidate))!, startSample: runStart)
            }
        } else {
            runLength = 0
            runDigit = -1
            if inDigit >= 0 {
                misses += 1
                if misses >= 2 { inDigit = -1 }
            }
        }
        return detection
    }

    /// Whether the tone in filter `k` advanced in phase from the previous block as a tone within
    /// the frequency tolerance would.
    private func withinTolerance(_ k: Int, _ re: SIMD8<Float>, _ im: SIMD8<Float>) -> Bool {
        // arg(y_now · conj(y_before)) − ω·N, wrapped to (−π, π], is 2π·Δf·N/fs.
        let r = re[k] * previousRe[k] + im[k] * previousIm[k]
        let i = im[k] * previousRe[k] - re[k] * previousIm[k]
        var d = atan2(i, r) - blockAdvance[k]
        while d > .pi { d -= 2 * .pi }
        while d <= -.pi { d += 2 * .pi }
        let offset = abs(d) * Float(Self.sampleRate) / (2 * .pi * Float(Self.blockSize))
        return offset <= Float(configuration.frequencyTolerance) * frequencies[k]
    }
}
