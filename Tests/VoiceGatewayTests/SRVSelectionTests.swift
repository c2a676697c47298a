// RFC 2782's order of SRV targets: priorities first, then a weighted draw, zero weights rarely.
import TestSupport
import Testing
@testable import VoiceGateway


@Suite("SRV selection order (RFC 2782)")
struct SRVSelectionTests {
    static func record(_ target: String, priority: UInt16, weight: UInt16) -> SRVRecord {
        SRVRecord(priority: priority, weight: weight, port: 5060, target: target)
    }

    /// How often each target comes first over `runs` orderings of `records`.
    static func firstChoices(_ records: [SRVRecord], runs: Int, seed: UInt64) -> [String: Int] {
        var generator = SplitMix64(seed: seed)
        var counts: [String: Int] = [:]
        for _ in 0..<runs {
            let order = SRVRecord.selectionOrder(records, using: &generator)
            counts[order[0].target, default: 0] += 1
        }
        return counts
    }

    @Test("lower priority always comes first, whatever the weights", arguments: [1, 2, 3, 42] as [UInt64])
    func priorityFirst(seed: UInt64) {
        let records = [
            Self.record("c", priority: 20, weight: 1000), Self.record("a", priority: 10, weight: 1),
            Self.record("d", priority: 30, weight: 0), Self.record("b", priority: 10, weight: 5),
        ]
        var generator = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let order = SRVRecord.selectionOrder(records, using: &generator)
            #expect(order.map(\.priority) == [10, 10, 20, 30])
            #expect(Set(order.map(\.target)) == ["a", "b", "c", "d"])
        }
    }

    @Test("within a priority each record is chosen first in proportion to its weight")
    func weightedDraw() {
        let runs = 40_000
        let counts = Self.firstChoices([Self.record("light", priority: 1, weight: 1), Self.record("heavy", priority: 1, weight: 3)], runs: runs, seed: 7)
        // Weights 1:3 give 1/4 and 3/4 (a draw from 0…sum would give the first listed 2/5).
        #expect(abs(Double(counts["light", default: 0]) / Double(runs) - 0.25) < 0.01, "\(counts)")
        #expect(abs(Double(counts["heavy", default: 0]) / Double(runs) - 0.75) < 0.01, "\(counts)")
    }

    @Test("a zero-weight record has a small chance beside weighted ones (1 in sum+1)")
    func zeroWeightRarely() {
        let runs = 41_000
        let records = [Self.record("ten", priority: 1, weight: 10), Self.record("zero", priority: 1, weight: 0), Self.record("thirty", priority: 1, weight: 30)]
        let counts = Self.firstChoices(records, runs: runs, seed: 11)
        #expect(abs(Double(counts["zero", default: 0]) / Double(runs) - 1.0 / 41) < 0.005, "\(counts)")
        #expect(abs(Double(counts["ten", default: 0]) / Double(runs) - 10.0 / 41) < 0.01, "\(counts)")
        #expect(abs(Double(counts["thirty", default: 0]) / Double(runs) - 30.0 / 41) < 0.01, "\(counts)")
    }

    @Test("records that all weigh 0 come first equally often")
    func allZeroUniform() {
        let runs = 30_000
        let counts = Self.firstChoices(["x", "y", "z"].map { Self.record($0, priority: 5, weight: 0) }, runs: runs, seed: 5)
        for target in ["x", "y", "z"] {
            #expect(abs(Double(counts[target, default: 0]) / Double(runs) - 1.0 / 3) < 0.015, "\(counts)")
        }
    }

    @Test("target \".\" means not offered and is never chosen")
    func rootTargetDropped() {
        var generator = SplitMix64(seed: 3)
        let order = SRVRecord.selectionOrder([Self.record("", priority: 0, weight: 0), Self.record(".", priority: 0, weight: 9), Self.record("real", priority: 1, weight: 0)], using: &generator)
        #expect(order.map(\.target) == ["real"])
    }
}
