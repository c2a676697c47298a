import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import Verification
@testable import VerificationServer

/// A verification that keeps changing under a request: every optimistic write loses the version,
/// the request re-reads and retries (`VerificationService.optimistically`), and once the retries
/// are spent it answers `409 conflict` with nothing changed — never a 400 and never a write.
@Suite struct ConflictTests {
    /// A `MemoryStore` whose versioned writes (`update`, `reserveSend` of an update) all report a
    /// version conflict while `contended` is on, as if another node always wrote first.
    final class ContendedStore: VerificationStore {
        let inner = MemoryStore()
        let contended = Mutex(false)
        /// Versioned writes refused while contended.
        let refusedWrites = Mutex(0)

        private func refuse() -> Bool {
            guard contended.withLock({ $0 }) else { return false }
            refusedWrites.withLock { $0 += 1 }
            return true
        }

        func update(_ verification: Verification, event: VerificationEvent, webhook: WebhookDelivery?) async throws -> Bool {
            if refuse() { return false }
            return await inner.update(verification, event: event, webhook: webhook)
        }

        func reserveSend(_ write: SendWrite, events: [VerificationEvent], send: SendReservation, guards: SendGuards) async throws -> SendReservationOutcome {
            if case .update = write, refuse() { return .conflict }
            return await inner.reserveSend(write, events: events, send: send, guards: guards)
        }

        func insert(_ verification: Verification, event: VerificationEvent) async throws -> Bool { await inner.insert(verification, event: event) }
        /// Reads of one verification by id (a check's `change` reads through here).
        let reads = Mutex(0)
        func verification(id: String) async throws -> Verification? {
            reads.withLock { $0 += 1 }
            return await inner.verification(id: id)
        }
        func pendingCallIn(caller: String, systemNumber: String?) async throws -> [Verification] { await inner.pendingCallIn(caller: caller, systemNumber: systemNumber) }
        func pendingCounts(systemNumbers: [String]) async throws -> [String: Int] { await inner.pendingCounts(systemNumbers: systemNumbers) }
        func systemNumberHolds(caller: String, now: Date) async throws -> [SystemNumberHold] { await inner.systemNumberHolds(caller: caller, now: now) }
        func holdSystemNumber(_ hold: SystemNumberHold, caller: String, now: Date, replacing: String?) async throws -> Bool {
            await inner.holdSystemNumber(hold, caller: caller, now: now, replacing: replacing)
        }
        func releaseSystemNumberHolds(endedBy now: Date) async throws { await inner.releaseSystemNumberHolds(endedBy: now) }
        func recordSend(to: String, verificationID: String, at: Date) async throws { await inner.recordSend(to: to, verificationID: verificationID, at: at) }
        func sends(to: String, since: Date, limit: Int) async throws -> [Date] { await inner.sends(to: to, since: since, limit: limit) }
        func events(verificationID: String) async throws -> [VerificationEvent] { await inner.events(verificationID: verificationID) }
        func events(verificationIDs: [String], since: Date) async throws -> [VerificationEvent] { await inner.events(verificationIDs: verificationIDs, since: since) }
        func dueWebhooks(now: Date, limit: Int) async throws -> [WebhookDelivery] { await inner.dueWebhooks(now: now, limit: limit) }
        func updateWebhook(_ webhook: WebhookDelivery) async throws { await inner.updateWebhook(webhook) }
        func expiredPending(now: Date, limit: Int) async throws -> [Verification] { await inner.expiredPending(now: now, limit: limit) }
        func scheduleCallRetry(verificationID: String, at: Date) async throws { await inner.scheduleCallRetry(verificationID: verificationID, at: at) }
        func claimDueCallRetries(now: Date, limit: Int) async throws -> [String] { await inner.claimDueCallRetries(now: now, limit: limit) }
        func recordSentSMS(key: String, verificationID: String, dueAt: Date, reportRequired: Bool) async throws {
            await inner.recordSentSMS(key: key, verificationID: verificationID, dueAt: dueAt, reportRequired: reportRequired)
        }
        func sentSMSOwner(key: String) async throws -> String? { await inner.sentSMSOwner(key: key) }
        func settleSentSMS(key: String) async throws -> String? { await inner.settleSentSMS(key: key) }
        func claimDueSentSMS(now: Date, limit: Int) async throws -> [SentSMS] { await inner.claimDueSentSMS(now: now, limit: limit) }
        func insertAPIKey(_ key: APIKeyRecord) async throws { try await inner.insertAPIKey(key) }
        func apiKeys() async throws -> [APIKeyRecord] { try await inner.apiKeys() }
        func revokeAPIKey(id: String, at: Date) async throws -> Bool { try await inner.revokeAPIKey(id: id, at: at) }
        func apiKey(sha256: [UInt8]) async throws -> APIKeyRecord? { await inner.apiKey(sha256: sha256) }
        func apiKeyCount() async throws -> Int { await inner.apiKeyCount() }
    }

    @Test("a check of an id no verification can have is 404 without a store read; a well-formed unknown one reads once")
    func malformedIDsCostTheStoreNothing() async throws {
        let store = ContendedStore()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let core = Core(configuration: CoreConfiguration(), store: store, secret: Array(repeating: 9, count: 32), logger: logger)
        let key = try #require(try await core.bootstrapAPIKey())
        let auth: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]
        let malformed = ["VEnope", "VE" + String(repeating: "A", count: 32), "VE" + String(repeating: "0", count: 31) + "g",
                         "XX" + String(repeating: "0", count: 32), "VE" + String(repeating: "0", count: 33), "VE%00" + String(repeating: "0", count: 29)]
        try await Application(router: core.router()).test(.router) { client in
            for id in malformed {
                try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: auth, body: #"{"code":"123456"}"#.buffer) { r in
                    #expect(r.status == .notFound, "\(id)")
                    #expect(r.body.json["code"] as? String == "not_found", "\(id)")
                }
            }
            #expect(store.reads.withLock { $0 } == 0)
            try await client.execute(uri: "/v1/verifications/VE\(String(repeating: "0", count: 32))/checks", method: .post, headers: auth,
                                     body: #"{"code":"123456"}"#.buffer) { r in
                #expect(r.status == .notFound)
            }
            #expect(store.reads.withLock { $0 } == 1)
        }
    }

    @Test(arguments: [
        ("check", "checks", #"{"code":"000000"}"#),
        ("cancel", "cancel", ""),
        ("resend", "resend", ""),
    ])
    func aWriteThatAlwaysLosesAnswers409Conflict(action: String, path: String, body: String) async throws {
        let store = ContendedStore()
        var config = CoreConfiguration()
        config.policy = VerificationPolicy(systemNumbers: ["+886229996666"])
        config.policy.limits.resendInterval = 0
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let core = Core(configuration: config, store: store, secret: Array(repeating: 9, count: 32), logger: logger)
        let key = try #require(try await core.bootstrapAPIKey())
        let auth: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]

        try await Application(router: core.router()).test(.router) { client in
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: auth,
                                              body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in
                #expect(r.status == .created)
                return try #require(r.body.json["id"] as? String)
            }
            let before = try #require(try await store.verification(id: id))
            let eventsBefore = try await store.events(verificationID: id).count
            let smsBefore = core.sms.outbox.count

            store.contended.withLock { $0 = true }
            try await client.execute(uri: "/v1/verifications/\(id)/\(path)", method: .post, headers: auth,
                                     body: body.isEmpty ? nil : body.buffer) { r in
                #expect(r.status == .conflict, "\(action)")
                #expect(r.headers[.contentType] == "application/problem+json")
                #expect(r.body.json["code"] as? String == "conflict", "\(action)")
                #expect(r.body.json["status"] as? Int == 409)
            }
            // It re-read and tried again as often as the domain allows, then gave up having changed nothing.
            #expect(store.refusedWrites.withLock { $0 } == VerificationService.commitAttempts, "\(action)")
            #expect(try await store.verification(id: id) == before, "\(action) changed the verification")
            #expect(try await store.events(verificationID: id).count == eventsBefore, "\(action) wrote an event")
            #expect(core.sms.outbox.count == smsBefore, "\(action) sent an SMS")

            // The same request goes through once the contention is over.
            store.contended.withLock { $0 = false }
            try await client.execute(uri: "/v1/verifications/\(id)/\(path)", method: .post, headers: auth,
                                     body: body.isEmpty ? nil : body.buffer) { r in
                #expect(r.status == .ok, "\(action)")
            }
        }
    }
}
