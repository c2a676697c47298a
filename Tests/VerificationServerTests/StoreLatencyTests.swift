import Foundation
import Logging
import Testing
import TestSupport
import Verification
@testable import VerificationServer

/// `verigate_store_duration_seconds`: every operation of the SQL store, timed into the core's metrics.
@Suite struct StoreLatencyTests {
    @Test func statementsAndTransactionsAreTimedIntoMetrics() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-latency-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = try await SQLVerificationStore.open(url: directory.appendingPathComponent("v.db").path, logger: logger)
        let metrics = ServerMetrics()
        metrics.observe(store)
        let core = Core(configuration: CoreConfiguration(), store: store, secret: Array(repeating: 9, count: 32), logger: logger, metrics: metrics)
        _ = try await core.bootstrapAPIKey()
        _ = try await store.apiKeyCount()
        let result = try await core.service.start(StartRequest(to: "0975000888", channel: .sms))
        _ = try await store.verification(id: result.verification.id)
        try await store.shutdown()
        let text = metrics.render()
        let statements = try #require(metricValue(text, #"verigate_store_duration_seconds_count{operation="statement"}"#), "\(text)")
        let transactions = try #require(metricValue(text, #"verigate_store_duration_seconds_count{operation="transaction"}"#), "\(text)")
        #expect(statements >= 2)
        #expect(transactions >= 1)
        #expect(metricValue(text, #"verigate_store_duration_seconds_bucket{operation="statement",le="+Inf"}"#) == statements)
    }
}
