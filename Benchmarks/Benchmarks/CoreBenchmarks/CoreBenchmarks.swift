import Benchmark
import Foundation
import Verification

/// Code paths of the verification core that run on every request.
let benchmarks: @Sendable () -> Void = {
    let hasher = CodeHasher(secret: Array(repeating: 7, count: 32))
    let stored = hasher.mac(id: "VE0123456789abcdef0123456789abcdef", code: "240713")

    Benchmark("code check (HMAC-SHA256, constant-time compare)", configuration: .init(metrics: [.throughput, .mallocCountTotal])) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(hasher.matches(id: "VE0123456789abcdef0123456789abcdef", code: "240713", stored: stored))
        }
    }

    Benchmark("code generation (CSPRNG, 6 digits)", configuration: .init(metrics: [.throughput])) { benchmark in
        let random = SystemRandomSource()
        for _ in benchmark.scaledIterations {
            blackHole(VerificationCode.generate(length: 6, random: random))
        }
    }

    Benchmark("phone number parse (libphonenumber)", configuration: .init(metrics: [.throughput])) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? PhoneNumber(parsing: "0975000888", defaultRegion: "TW"))
        }
    }
}
