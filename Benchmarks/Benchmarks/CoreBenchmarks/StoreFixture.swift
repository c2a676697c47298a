import Foundation
import Logging
import Verification
import VerificationServer

/// A verification service on a fresh SQLite file, with limits out of the way and no delivery cost.
struct StoreFixture {
    let store: SQLVerificationStore
    let service: VerificationService

    struct NoDelivery: CodeDelivery {
        func isAvailable(_ channel: VerificationMethod) async -> Bool { true }
        func deliver(_ message: CodeMessage) async throws {}
    }

    struct NoEvents: VerificationEventSink {
        func published(_ event: VerificationEvent, verification: Verification) async {}
    }

    static func make() async throws -> StoreFixture {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-bench-\(UUID().uuidString).db").path
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let store = try await SQLVerificationStore.open(url: path, logger: logger)
        var limits = VerificationLimits()
        limits.maxSendsPerNumber = .max
        // Thousands of starts a second over one range: the pumping guards would stop the run.
        limits.maxSendsPerPrefix = 0
        limits.maxSendsPerChannel = [:]
        let service = VerificationService(
            policy: VerificationPolicy(limits: limits, systemNumbers: ["+886229996666"]), store: store,
            delivery: NoDelivery(), events: NoEvents(), secret: Array(repeating: 1, count: 32))
        return StoreFixture(store: store, service: service)
    }

    /// A distinct valid Taiwanese mobile number per iteration.
    func number(_ i: Int) -> String { "+8869" + String(format: "%08d", 10_000_000 + i % 89_999_999) }
}
