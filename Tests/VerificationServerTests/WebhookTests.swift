import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import Verification
@testable import VerificationServer

/// A clock the test moves.
final class ManualClock: VerificationClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    func now() -> Date { lock.withLock { current } }
    func advance(_ s: Double) { lock.withLock { current = current.addingTimeInterval(s) } }
    func set(_ d: Date) { lock.withLock { current = d } }
}

/// A webhook receiver on 127.0.0.1 that answers the statuses it is given, in order, then 200.
final class Receiver: Sendable {
    struct Hit: Sendable { var body: [UInt8]; var signature: String?; var id: String?; var host: String? }
    let hits = Mutex<[Hit]>([])
    let script: Mutex<[Int]>
    init(script: [Int]) { self.script = Mutex(script) }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            self.hits.withLock {
                $0.append(Hit(body: Array(body.readableBytesView), signature: request.headers[HTTPField.Name(WebhookSigner.signatureHeader)!],
                              id: request.headers[HTTPField.Name(WebhookSigner.idHeader)!], host: request.head.authority))
            }
            let status = self.script.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: .init(code: status))
        }
        return router
    }
}

@Suite struct WebhookTests {
    let secret = Array("webhook signing key of 32 bytes!".utf8)
    var logger: Logger { var l = Logger(label: "test"); l.logLevel = .critical; return l }
    /// The receivers of these tests listen on loopback.
    var loopbackAllowed: WebhookDispatcher.Configuration { var c = WebhookDispatcher.Configuration(); c.allowPrivateAddresses = true; return c }

    func enqueue(_ store: MemoryStore, url: String, at: Date) async -> WebhookDelivery {
        let w = WebhookDelivery(id: "WH1", verificationID: "VE1", url: url, body: #"{"id":"VE1","status":"approved"}"#, createdAt: at)
        await store.updateWebhook(w)
        return w
    }

    @Test func deliversSignedAndReceiverVerifies() async throws {
        let receiver = Receiver(script: [])
        try await Application(router: receiver.router()).test(.live) { client async throws in
            let store = MemoryStore()
            let clock = ManualClock()
            clock.set(Date())
            _ = await enqueue(store, url: "http://127.0.0.1:\(client.port!)/hook", at: clock.now())
            let dispatcher = WebhookDispatcher(store: store, secret: secret, configuration: loopbackAllowed, clock: clock, logger: logger)
            #expect(try await dispatcher.deliverDue() == 1)
            let hit = try #require(receiver.hits.withLock { $0.first })
            #expect(hit.id == "WH1")
            let signature = try #require(hit.signature)
            try WebhookSigner.verify(header: signature, body: hit.body, secret: secret, now: clock.now())
            #expect(await store.dueWebhooks(now: clock.now().addingTimeInterval(1e6), limit: 10).isEmpty)
            #expect(try await dispatcher.deliverDue() == 0, "a delivered webhook is not sent again")
            #expect(receiver.hits.withLock { $0.count } == 1)
        }
    }

    @Test func retriesWithBackoffUntilDelivered() async throws {
        let receiver = Receiver(script: [500, 503])
        try await Application(router: receiver.router()).test(.live) { client async throws in
            let store = MemoryStore()
            let clock = ManualClock()
            _ = await enqueue(store, url: "http://127.0.0.1:\(client.port!)/hook", at: clock.now())
            let dispatcher = WebhookDispatcher(store: store, secret: secret, configuration: loopbackAllowed, clock: clock, logger: logger)
            #expect(try await dispatcher.deliverDue() == 0)
            #expect(try await dispatcher.deliverDue() == 0, "not due again before its backoff")
            clock.advance(6.1)
            #expect(try await dispatcher.deliverDue() == 0)
            clock.advance(12.1)
            #expect(try await dispatcher.deliverDue() == 1)
            #expect(receiver.hits.withLock { $0.count } == 3)
            #expect(receiver.hits.withLock { Set($0.compactMap(\.id)) } == ["WH1"], "retries carry the same id")
        }
    }

    @Test func abandonedAfterTheRetryWindow() async throws {
        let receiver = Receiver(script: Array(repeating: 500, count: 50))
        try await Application(router: receiver.router()).test(.live) { client async throws in
            let store = MemoryStore()
            let clock = ManualClock()
            _ = await enqueue(store, url: "http://127.0.0.1:\(client.port!)/hook", at: clock.now())
            var config = loopbackAllowed
            config.retryWindow = 600
            let dispatcher = WebhookDispatcher(store: store, secret: secret, configuration: config, clock: clock, logger: logger)
            // Attempts at t = 0, then whenever due; backoff 5, 10, 20, 40, 80, 160, 300 s (±20 %).
            var attempts = 0
            while attempts < 50, let due = await store.dueWebhooks(now: .distantFuture, limit: 1).first {
                clock.set(max(clock.now(), due.nextAttemptAt))
                _ = try await dispatcher.deliverDue()
                attempts += 1
            }
            #expect(await store.dueWebhooks(now: .distantFuture, limit: 10).isEmpty, "abandoned deliveries are no longer due")
            #expect(clock.now().timeIntervalSince1970 - 1_800_000_000 <= 600, "abandoned within the window")
            #expect((6...9).contains(attempts), "retried with backoff until the window ran out: \(attempts) attempts")
            #expect(receiver.hits.withLock { $0.count } == attempts)
        }
    }

    @Test func nonHTTPURLIsAbandonedAtOnce() async throws {
        let store = MemoryStore()
        let clock = ManualClock()
        _ = await enqueue(store, url: "ftp://127.0.0.1/hook", at: clock.now())
        let dispatcher = WebhookDispatcher(store: store, secret: secret, clock: clock, logger: logger)
        #expect(try await dispatcher.deliverDue() == 0)
        #expect(await store.dueWebhooks(now: clock.now().addingTimeInterval(1e6), limit: 10).isEmpty)
    }

    @Test func backoffDoublesAndCaps() {
        #expect(WebhookDispatcher.backoff(afterAttempt: 1) == 5)
        #expect(WebhookDispatcher.backoff(afterAttempt: 2) == 10)
        #expect(WebhookDispatcher.backoff(afterAttempt: 4) == 40)
        #expect(WebhookDispatcher.backoff(afterAttempt: 10) == 300)
        #expect(WebhookDispatcher.backoff(afterAttempt: 3, jitter: 0.8) == 16)
    }

    @Test func signatureRefusesTamperingWrongKeyAndOldTimestamps() throws {
        let signer = WebhookSigner(secret: secret)
        let body = Array(#"{"status":"approved"}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let header = signer.signature(body: body, timestamp: 1_800_000_000)
        try WebhookSigner.verify(header: header, body: body, secret: secret, now: now)
        #expect(throws: WebhookSigner.VerificationFailure.signatureMismatch) {
            try WebhookSigner.verify(header: header, body: Array(#"{"status":"approvee"}"#.utf8), secret: secret, now: now)
        }
        #expect(throws: WebhookSigner.VerificationFailure.signatureMismatch) {
            try WebhookSigner.verify(header: header, body: body, secret: Array(repeating: 1, count: 32), now: now)
        }
        #expect(throws: WebhookSigner.VerificationFailure.timestampOutsideTolerance) {
            try WebhookSigner.verify(header: header, body: body, secret: secret, tolerance: 300, now: now.addingTimeInterval(301))
        }
        #expect(throws: WebhookSigner.VerificationFailure.malformedHeader) {
            try WebhookSigner.verify(header: "garbage", body: body, secret: secret, now: now)
        }
    }

    /// A status change with a callback URL reaches the receiver through the whole core.
    @Test func approvalReachesTheCallbackThroughTheCore() async throws {
        let receiver = Receiver(script: [])
        try await Application(router: receiver.router()).test(.live) { hookClient async throws in
            let t = try await TestCore { $0.webhooks.allowPrivateAddresses = true }
            try await t.app().test(.router) { client in
                let body = #"{"to":"0975000888","channel":"sms","callback_url":"http://127.0.0.1:\#(hookClient.port!)/hook"}"#
                let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: ByteBuffer(string: body)) { r in
                    r.body.json["id"] as? String ?? ""
                }
                try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth,
                                         body: ByteBuffer(string: #"{"code":"\#(t.sentCode(id) ?? "")"}"#)) { _ in }
            }
            #expect(try await t.core.webhooks.deliverDue() == 1)
            let hit = try #require(receiver.hits.withLock { $0.first })
            try WebhookSigner.verify(header: hit.signature ?? "", body: hit.body, secret: t.core.webhookSecret)
            let json = try JSONSerialization.jsonObject(with: Data(hit.body)) as? [String: Any]
            #expect(json?["status"] as? String == "approved")
            #expect(json?["event"] as? String == "approved")
        }
    }
}
