import Benchmark
import Foundation
import Media

/// Per-frame cost of the media DSP: one 20 ms frame (160 samples at 8 kHz) per iteration.
/// The DTMF detector's aim is 5,000 simultaneous channels per core: under 4 µs per frame.
let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]
    let config = Benchmark.Configuration(metrics: metrics, maxDuration: .seconds(3))

    // A frame with speech-like content (three partials) so the detector runs its full tests.
    let frame: [Int16] = (0..<160).map { n in
        let t = Double(n) / 8000
        return Int16(6000 * sin(2 * .pi * 220 * t) + 3000 * sin(2 * .pi * 697 * t) + 2500 * sin(2 * .pi * 1336 * t))
    }
    let frames: [[Int16]] = (0..<50).map { k in
        let digit = DTMFDigit.allCases[k % 16]
        var g = ToneGenerator(tones: DTMFGenerator.tones(for: digit), sampleRate: 8000)
        return k % 2 == 0 ? g.generate(count: 160) : frame
    }

    Benchmark("DTMF detector, 20 ms frame", configuration: config) { benchmark in
        var detector = DTMFDetector()
        var k = 0
        for _ in benchmark.scaledIterations {
            frames[k].withUnsafeBufferPointer { detector.process($0) { blackHole($0) } }
            k = k == 49 ? 0 : k + 1
        }
    }

    for law in [G711.Law.muLaw, .aLaw] {
        let name = law == .muLaw ? "µ-law" : "A-law"
        Benchmark("G.711 \(name) encode, 20 ms frame", configuration: config) { benchmark in
            var out = [UInt8](repeating: 0, count: 160)
            frame.withUnsafeBufferPointer { pcm in
                out.withUnsafeMutableBytes { o in
                    for _ in benchmark.scaledIterations { blackHole(G711.encode(law, pcm, into: o)) }
                }
            }
        }
        Benchmark("G.711 \(name) decode, 20 ms frame", configuration: config) { benchmark in
            var payload = [UInt8](repeating: 0, count: 160)
            _ = frame.withUnsafeBufferPointer { p in payload.withUnsafeMutableBytes { G711.encode(law, p, into: $0) } }
            var out = [Int16](repeating: 0, count: 160)
            payload.withUnsafeBytes { p in
                out.withUnsafeMutableBufferPointer { o in
                    for _ in benchmark.scaledIterations { blackHole(G711.decode(law, p, into: o)) }
                }
            }
        }
    }

    for rate in [8000, 48000] {
        let samples = rate / 50
        let pcm: [Int16] = (0..<samples).map { n in
            let t = Double(n) / Double(rate)
            return Int16(6000 * sin(2 * .pi * 220 * t) + 2000 * sin(2 * .pi * 660 * t))
        }
        Benchmark("Opus encode \(rate / 1000) kHz, 20 ms frame", configuration: config) { benchmark in
            guard var codec = try? OpusCodec(pcmSampleRate: rate) else { return }
            var out = [UInt8](repeating: 0, count: 1275)
            pcm.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBytes { o in
                    for _ in benchmark.scaledIterations { blackHole(try? codec.encode(p, into: o)) }
                }
            }
        }
        Benchmark("Opus decode \(rate / 1000) kHz, 20 ms frame", configuration: config) { benchmark in
            guard var codec = try? OpusCodec(pcmSampleRate: rate), let payload = try? codec.encode(pcm) else { return }
            var out = [Int16](repeating: 0, count: samples)
            payload.withUnsafeBytes { p in
                out.withUnsafeMutableBufferPointer { o in
                    for _ in benchmark.scaledIterations { blackHole(codec.decode(p, into: o)) }
                }
            }
        }
    }
}
