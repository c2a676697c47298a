import Benchmark
import Foundation
import Verification

/// Code paths of the verification core that run on every request.
let benchmarks: @Sendable () -> Void = {
    codeBenchmarks()
    storeBenchmarks()
}

let codeBenchmarks: @Sendable () -> Void = {
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

/// Starts and checks through the domain service on the real SQLite store (a temp file, WAL):
/// what one core node sustains without HTTP.
let storeBenchmarks: @Sendable () -> Void = {
    Benchmark("start sms verification (SQLite)", configuration: .init(metrics: [.throughput, .wallClock], maxDuration: .seconds(5))) { benchmark in
        let fixture = try await StoreFixture.make()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            blackHole(try await fixture.service.start(StartRequest(to: fixture.number(i), channel: .sms)))
        }
        benchmark.stopMeasurement()
        try await fixture.store.shutdown()
    }

    // A check (the API's, of a typed code) is one store write: the read, the decision and the
    // versioned write with its audit event in one group-committed operation (`change(id:_:)`).
    // 1,000 checks per sample (`.kilo`; figures are per check): with one, "64 at once" had a single
    // check in flight and measured nothing of the group commit.
    let checks = Benchmark.Configuration(metrics: [.throughput, .wallClock, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(10))
    Benchmark("check code, one at a time (SQLite)", configuration: checks) { benchmark in
        let fixture = try await StoreFixture.make()
        var ids: [String] = []
        for i in benchmark.scaledIterations { ids.append(try await fixture.service.start(StartRequest(to: fixture.number(i), channel: .sms)).verification.id) }
        benchmark.startMeasurement()
        for id in ids { blackHole(try? await fixture.service.check(id: id, code: "000000")) }
        benchmark.stopMeasurement()
        try await fixture.store.shutdown()
    }

    // The same checks, 64 in flight at once: the writes that queue share one COMMIT (group commit).
    Benchmark("check code, 64 at once (SQLite, group commit)", configuration: checks) { benchmark in
        let fixture = try await StoreFixture.make()
        var ids: [String] = []
        for i in benchmark.scaledIterations { ids.append(try await fixture.service.start(StartRequest(to: fixture.number(i), channel: .sms)).verification.id) }
        let service = fixture.service
        benchmark.startMeasurement()
        await withTaskGroup(of: Void.self) { group in
            var pending = ids.makeIterator()
            for _ in 0..<64 {
                guard let id = pending.next() else { break }
                group.addTask { blackHole(try? await service.check(id: id, code: "000000")) }
            }
            while await group.next() != nil {
                guard let id = pending.next() else { continue }
                group.addTask { blackHole(try? await service.check(id: id, code: "000000")) }
            }
        }
        benchmark.stopMeasurement()
        try await fixture.store.shutdown()
    }
}
