import Foundation
import Testing
@testable import Media

/// The ITU-T Q.24 receiver figures as spandsp and Asterisk read them, each generated here.
@Suite struct DTMFDetectorTests {
    static let digits = DTMFDigit.allCases

    private func single(_ tone: [Double], lead: Double = 30) -> [DTMFDigit] {
        Signal.detect(Signal.pcm(Signal.silence(ms: lead) + tone + Signal.silence(ms: 60)))
    }

    @Test(arguments: DTMFDigit.allCases)
    func detectsEveryDigitAtNominal(_ d: DTMFDigit) {
        #expect(single(Signal.digit(d, ms: 60)) == [d])
    }

    @Test(arguments: DTMFDigit.allCases)
    func acceptsOnePointFivePercentOffsets(_ d: DTMFDigit) {
        for low in [-0.015, 0, 0.015] {
            for high in [-0.015, 0, 0.015] {
                let got = single(Signal.digit(d, ms: 60, lowDeviation: low, highDeviation: high))
                #expect(got == [d], "\(d) low \(low) high \(high)")
            }
        }
    }

    @Test(arguments: DTMFDigit.allCases)
    func rejectsThreePointFivePercentOffsets(_ d: DTMFDigit) {
        for (low, high) in [(0.035, 0.0), (-0.035, 0), (0, 0.035), (0, -0.035), (0.035, 0.035), (-0.035, -0.035)] {
            let got = single(Signal.digit(d, ms: 100, lowDeviation: low, highDeviation: high))
            #expect(got.isEmpty, "\(d) low \(low) high \(high) gave \(got)")
        }
    }

    /// Twist as spandsp (`dtmf_normal_twist`, `dtmf_reverse_twist`) and Asterisk define it:
    /// normal (forward) twist is the low group louder, accepted to 8 dB; reverse twist is the
    /// high group louder, accepted to 4 dB.
    @Test(arguments: DTMFDigit.allCases)
    func acceptsTwistLimits(_ d: DTMFDigit) {
        for twist in [-8.0, -4, 0, 2, 4] {
            for level in [-10.0, -20] {
                // Keep the weaker tone at `level`.
                let low = twist >= 0 ? level : level - twist
                let got = single(Signal.dual(d.lowFrequency, low, d.highFrequency, low + twist, samples: 480))
                #expect(got == [d], "\(d) twist \(twist) at \(level)")
            }
        }
    }

    @Test func rejectsExcessiveTwist() {
        for d in Self.digits {
            #expect(single(Signal.dual(d.lowFrequency, -8, d.highFrequency, -22, samples: 480)).isEmpty, "\(d) normal 14 dB")
            #expect(single(Signal.dual(d.lowFrequency, -18, d.highFrequency, -8, samples: 480)).isEmpty, "\(d) reverse 10 dB")
        }
    }

    @Test func detectsLevelsFromMinus3ToMinus30DBm0() {
        for d in Self.digits {
            for level in stride(from: -3.0, through: -30, by: -1) {
                #expect(single(Signal.digit(d, ms: 50, dBm0: level)) == [d], "\(d) at \(level) dBm0")
            }
        }
    }

    @Test func ignoresTonesBelowThreshold() {
        for d in Self.digits {
            #expect(single(Signal.digit(d, ms: 100, dBm0: -45)).isEmpty)
        }
    }

    /// 40 ms tones with 40 ms gaps, at every alignment to the detector's blocks: each detected
    /// once, repeats of the same key counted twice.
    @Test func fortyMillisecondTonesAndGaps() {
        let sequence: [DTMFDigit] = [.one, .one, .two, .three, .d, .pound, .star, .zero, .zero, .nine, .a, .b, .c, .four, .five, .six]
        for offset in stride(from: 0, to: 80, by: 7) {
            var x = Signal.silence(ms: Double(offset) / 8)
            for d in sequence { x += Signal.digit(d, ms: 40) + Signal.silence(ms: 40) }
            #expect(Signal.detect(Signal.pcm(x)) == sequence, "offset \(offset)")
        }
    }

    @Test func ignoresTonesOf23MillisecondsOrLess() {
        for d in Self.digits {
            for ms in [10.0, 15, 20, 23] {
                for offset in stride(from: 0, to: 80, by: 4) {
                    let x = Signal.silence(ms: 20 + Double(offset) / 8) + Signal.digit(d, ms: ms) + Signal.silence(ms: 60)
                    let got = Signal.detect(Signal.pcm(x))
                    #expect(got.isEmpty, "\(d) \(ms) ms offset \(offset) gave \(got)")
                }
            }
        }
    }

    /// White Gaussian noise at 15 dB SNR (signal = both tones), seeded, over the level range.
    @Test func detectsWithWhiteNoiseAt15dBSNR() {
        var seed: UInt64 = 1
        for d in Self.digits {
            for level in [-10.0, -20, -30] {
                let tone = Signal.digit(d, ms: 60, dBm0: level)
                let noisePower = Signal.meanPower(tone) / pow(10, 1.5)
                let x = Signal.addNoise(Signal.silence(ms: 30) + tone + Signal.silence(ms: 60), power: noisePower, seed: seed)
                seed += 1
                #expect(Signal.detect(Signal.pcm(x)) == [d], "\(d) at \(level) dBm0 + noise")
            }
        }
    }

    @Test func noiseAloneGivesNothing() {
        for level in [-10.0, -20, -30] {
            let x = Signal.addNoise(Signal.silence(ms: 5000), power: pow(Signal.peak(level), 2) / 2, seed: 99)
            #expect(Signal.detect(Signal.pcm(x)).isEmpty)
        }
    }

    @Test func frameSizeDoesNotMatter() {
        let x = Signal.pcm(Signal.silence(ms: 13) + DTMFGenerator.samples("2407#", toneMs: 60, gapMs: 60).map(Double.init))
        for chunk in [1, 33, 80, 160, 1000] {
            #expect(Signal.detect(x, chunk: chunk) == [.two, .four, .zero, .seven, .pound], "chunk \(chunk)")
        }
    }

    @Test func reportsStartSample() {
        var detector = DTMFDetector()
        let x = Signal.pcm(Signal.silence(ms: 100) + Signal.digit(.five, ms: 60))
        let found = detector.process(x)
        #expect(found.count == 1)
        #expect(abs((found.first?.startSample ?? -1000) - 800) <= 80)
    }
}

@Suite struct DTMFSenderTests {
    @Test func senderOutputIsDetected() {
        var sender = DTMFSender(keys: "2407#x*")
        var audio: [Int16] = []
        var frame = [Int16](repeating: 0, count: 160)
        while frame.withUnsafeMutableBufferPointer({ sender.nextFrame(into: $0) }) { audio += frame }
        #expect(sender.isFinished)
        #expect(audio.count == 6 * 200 * 8)
        #expect(Signal.detect(audio) == [.two, .four, .zero, .seven, .pound, .star])
    }

    /// Keys pressed over a talking caller (speech-like partials 10 dB below the tones) are found.
    @Test func detectsDigitsOverVoicedSound() {
        var x: [Double] = []
        for d in [DTMFDigit.one, .five, .nine, .d] {
            x += Signal.digit(d, ms: 60, dBm0: -10) + Signal.silence(ms: 60)
        }
        let voice = (0..<x.count).map { n -> Double in
            let t = Double(n) / 8000
            return Signal.peak(-23) * (sin(2 * .pi * 140 * t) + 0.5 * sin(2 * .pi * 280 * t) + 0.3 * sin(2 * .pi * 420 * t))
        }
        #expect(Signal.detect(Signal.pcm(zip(x, voice).map { $0 + $1 })) == [.one, .five, .nine, .d])
    }
}
