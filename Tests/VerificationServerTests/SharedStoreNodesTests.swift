import Foundation
import Logging
import Synchronization
import Testing
import Verification
@testable import VerificationServer
import TestSupport

/// What the nodes of one deployment share through the store (README "Several core nodes"): the
/// request limits (GCRA buckets, `SQLVerificationStore+RateLimits`) and, on PostgreSQL, the
/// announcement of every committed audit event (LISTEN/NOTIFY, migration 8).
@Suite("nodes sharing one store: request limits and event announcements", .timeLimit(.minutes(2)))
struct SharedStoreNodesTests {
    // MARK: shared request limits

    @Test("a bucket allows `limit` requests at once, refuses the next with the wait until one is free, and refills at limit/period", arguments: storeBackends)
    func bucketAllowsLimitThenRefuses(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let t0 = StoreFixtures.t0
            for i in 0..<4 {
                #expect(try await store.acquireRateLimit(bucket: "ip:192.0.2.1", limit: 4, period: 60, now: t0) == nil, "request \(i)")
            }
            // One request every 15 s: the 5th waits the whole emission interval.
            let wait = try #require(try await store.acquireRateLimit(bucket: "ip:192.0.2.1", limit: 4, period: 60, now: t0))
            #expect(abs(wait - 15) < 0.001, "\(wait)")
            // A refusal takes nothing: 10 s later the wait is 5 s, and another bucket is untouched.
            let later = try #require(try await store.acquireRateLimit(bucket: "ip:192.0.2.1", limit: 4, period: 60, now: t0.addingTimeInterval(10)))
            #expect(abs(later - 5) < 0.001, "\(later)")
            #expect(try await store.acquireRateLimit(bucket: "ip:192.0.2.2", limit: 4, period: 60, now: t0) == nil)
            // After one interval exactly one more request is allowed.
            #expect(try await store.acquireRateLimit(bucket: "ip:192.0.2.1", limit: 4, period: 60, now: t0.addingTimeInterval(15)) == nil)
            #expect(try await store.acquireRateLimit(bucket: "ip:192.0.2.1", limit: 4, period: 60, now: t0.addingTimeInterval(15)) != nil)
            // It agrees with the in-memory token bucket on the same sequence of requests.
            var memory = RateLimiter(limit: 4, period: 60)
            for s in [0.0, 0, 0, 0, 0, 10, 15, 15, 29.9, 30, 61, 61, 61, 61, 61, 200] {
                let now = t0.addingTimeInterval(s)
                let stored = try await store.acquireRateLimit(bucket: "key:VK1", limit: 4, period: 60, now: now)
                let local = memory.acquire("VK1", now: now)
                #expect((stored == nil) == (local == nil), "at \(s) s: store \(String(describing: stored)), memory \(String(describing: local))")
                if let stored, let local { #expect(abs(stored - local) < 0.001, "at \(s) s") }
            }
        }
    }

    @Test("spent buckets are purged; live ones stay", arguments: storeBackends)
    func purge(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let t0 = StoreFixtures.t0
            _ = try await store.acquireRateLimit(bucket: "ip:a", limit: 60, period: 60, now: t0)  // full again at t0 + 1 s
            for _ in 0..<60 { _ = try await store.acquireRateLimit(bucket: "ip:b", limit: 60, period: 60, now: t0) }  // at t0 + 60 s
            try await store.purgeRateLimits(now: t0.addingTimeInterval(2))
            let rows = try await store.withRawDatabase { try await $0.raw("SELECT bucket FROM rate_limits").all() }
            #expect(try rows.map { try $0.decode(column: "bucket", as: String.self) } == ["ip:b"])
            #expect(try await store.acquireRateLimit(bucket: "ip:b", limit: 60, period: 60, now: t0.addingTimeInterval(2)) == nil, "ip:b refilled 2 in 2 s")
        }
    }

    @Test("ATTACK: 40 concurrent requests against a limit of 10, through two nodes' stores at once: exactly 10 pass", arguments: storeBackends)
    func concurrentRequestsOnTwoNodes(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (nodeA: SQLVerificationStore, database: TestDatabase) async throws in
            let nodeB = try await database.open()
            defer { Task { try? await nodeB.shutdown() } }
            let now = StoreFixtures.t0
            let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<40 {
                    let node = i % 2 == 0 ? nodeA : nodeB
                    group.addTask { try await node.acquireRateLimit(bucket: "key:VKshared", limit: 10, period: 60, now: now) == nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(allowed == 10)
        }
    }

    @Test("SharedRateLimiter: two nodes' limiters on one store allow the limit in all, not per node; without the store, per node")
    func limiterAcrossNodes() async throws {
        let store = MemoryRateLimitStore()
        let a = SharedRateLimiter(scope: "ip", limit: 3, period: 60, shared: store)
        let b = SharedRateLimiter(scope: "ip", limit: 3, period: 60, shared: store)
        let now = Date()
        let results = [await a.acquire("198.51.100.7", now: now), await b.acquire("198.51.100.7", now: now),
                       await a.acquire("198.51.100.7", now: now), await b.acquire("198.51.100.7", now: now)]
        #expect(results.map { $0 == nil } == [true, true, true, false])
        #expect(store.buckets() == ["ip:198.51.100.7"])
        let alone = (SharedRateLimiter(scope: "ip", limit: 3, period: 60), SharedRateLimiter(scope: "ip", limit: 3, period: 60))
        var passed = 0
        for _ in 0..<3 { for limiter in [alone.0, alone.1] where await limiter.acquire("198.51.100.7", now: now) == nil { passed += 1 } }
        #expect(passed == 6, "per node: 3 each")
        // The node's own limit refuses a flood without asking the store.
        let flooded = MemoryRateLimitStore()
        let c = SharedRateLimiter(scope: "ip", limit: 2, period: 60, shared: flooded)
        for _ in 0..<10 { _ = await c.acquire("203.0.113.9", now: now) }
        #expect(flooded.calls() == 2)
    }

    @Test("SharedRateLimiter: a store that fails leaves the node's own limit in force")
    func limiterWhenStoreFails() async throws {
        let store = MemoryRateLimitStore()
        store.failing.withLock { $0 = true }
        let limiter = SharedRateLimiter(scope: "key", limit: 2, period: 60, shared: store)
        let now = Date()
        let results = [await limiter.acquire("VK1", now: now), await limiter.acquire("VK1", now: now), await limiter.acquire("VK1", now: now)]
        #expect(results.map { $0 == nil } == [true, true, false])
    }

    // MARK: audit events announced (PostgreSQL LISTEN/NOTIFY)

    @Test("an event committed through one node's store is announced to another's listener; another schema's, a rolled-back one and SQLite's are not")
    func eventsAnnounced() async throws {
        guard storeBackends.contains(.postgres) else { return }
        let database = try TestDatabase(.postgres)
        let listenerStore = try await database.open()
        let other = try TestDatabase(.postgres)
        let otherStore = try await other.open()
        let writer = try await database.open()
        defer {
            Task {
                try? await writer.shutdown()
                await other.destroy(otherStore)
                await database.destroy(listenerStore)
            }
        }
        #expect(listenerStore.announcesAuditEvents)
        let heard = Heard()
        let listening = Task {
            try await listenerStore.listenForAuditEvents(listening: { heard.listening() }, notified: { heard.add($0) })
        }
        defer { listening.cancel() }
        #expect(try await heard.waitListening(1))

        // Another deployment (schema) of the same database: same channel, not ours.
        let foreign = StoreFixtures.verification()
        #expect(try await otherStore.insert(foreign, event: StoreFixtures.created(foreign)))
        // A transaction that fails after its event is written announces nothing (NOTIFY is sent at COMMIT).
        let doomed = StoreFixtures.verification()
        #expect(try await writer.insert(doomed, event: StoreFixtures.created(doomed)))
        let duplicate = StoreFixtures.verification(id: doomed.id)
        await #expect(throws: (any Error).self) { try await writer.insert(duplicate, event: StoreFixtures.created(duplicate)) }
        let ours = StoreFixtures.verification()
        #expect(try await writer.insert(ours, event: StoreFixtures.created(ours)))
        var next = StoreFixtures.next(ours, at: 1)
        next.status = .approved
        #expect(try await writer.update(next, event: StoreFixtures.event(next, .approved), webhook: nil))

        #expect(try await heard.wait { $0.filter { $0 == ours.id }.count == 2 }, "\(heard.ids())")
        #expect(heard.ids() == [doomed.id, ours.id, ours.id], "one per committed event, ours only, in commit order")

        try await withTestStore(.sqlite) { (sqlite: SQLVerificationStore, _: TestDatabase) async throws in
            #expect(!sqlite.announcesAuditEvents)
        }
    }

    @Test("the listener's connection killed by the server: listening ends with an error, and StoreEventListener reconnects and catches up")
    func listenerReconnectsAndCatchesUp() async throws {
        guard storeBackends.contains(.postgres) else { return }
        let database = try TestDatabase(.postgres)
        let store = try await database.open()
        let writer = try await database.open()
        defer {
            Task {
                try? await writer.shutdown()
                await database.destroy(store)
            }
        }
        let broker = EventBroker()
        let v = StoreFixtures.verification(createdAt: Date(), expiresAt: Date().addingTimeInterval(600))
        #expect(try await writer.insert(v, event: StoreFixtures.created(v)))
        let stream = broker.subscribe(v.id, now: Date())
        let counting = CountingNotifier(base: store)
        let listener = StoreEventListener(notifier: counting, follower: StoreEventFollower(store: store, broker: broker, logger: TestDatabase.logger),
                                          logger: TestDatabase.logger)
        let running = Task { await listener.run() }
        defer { running.cancel() }
        #expect(try await eventuallyTrue { counting.connections() == 1 })

        // The server ends the listening session (an operator's pg_terminate_backend, a failover).
        let application = SQLVerificationStore.listenerApplicationName(schema: database.configuration.postgresSchema)
        let killed = try await writer.withRawDatabase {
            try await $0.raw("SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = \(bind: application)").all()
        }
        #expect(killed.count == 1)
        // Written while no one may be listening: a NOTIFY nobody hears is gone, the catch-up reads it.
        var approved = StoreFixtures.next(v, at: 1)
        approved.status = .approved
        let event = VerificationEvent(verificationID: v.id, kind: .approved, status: .approved, at: Date(), detail: nil)
        #expect(try await writer.update(approved, event: event, webhook: nil))
        #expect(try await eventuallyTrue { counting.connections() == 2 }, "reconnected")
        var received: VerificationEvent?
        for await e in stream where e.kind == .approved {
            received = e
            break
        }
        #expect(received?.verificationID == v.id)
        #expect(counting.failures() == 1, "the killed connection ended with an error")
    }
}

/// Notification ids heard, in order, and how many times the listener started listening.
final class Heard: Sendable {
    private let state = Mutex<(ids: [String], listening: Int)>(([], 0))
    func add(_ id: String) { state.withLock { $0.ids.append(id) } }
    func listening() { state.withLock { $0.listening += 1 } }
    func ids() -> [String] { state.withLock { $0.ids } }
    func waitListening(_ count: Int) async throws -> Bool { try await eventuallyTrue { self.state.withLock { $0.listening >= count } } }
    func wait(_ condition: @escaping @Sendable ([String]) -> Bool) async throws -> Bool { try await eventuallyTrue { condition(self.ids()) } }
}

/// Counts the connections that reached LISTEN and the ones that ended with an error.
final class CountingNotifier: AuditEventNotifier {
    let base: any AuditEventNotifier
    private let counts = Mutex<(connections: Int, failures: Int)>((0, 0))
    init(base: any AuditEventNotifier) { self.base = base }
    var announcesAuditEvents: Bool { base.announcesAuditEvents }
    func connections() -> Int { counts.withLock { $0.connections } }
    func failures() -> Int { counts.withLock { $0.failures } }
    func listenForAuditEvents(listening: @Sendable () async -> Void, notified: @Sendable (String) -> Void) async throws {
        do {
            try await base.listenForAuditEvents(listening: {
                self.counts.withLock { $0.connections += 1 }
                await listening()
            }, notified: notified)
        } catch {
            if !(error is CancellationError) { counts.withLock { $0.failures += 1 } }
            throw error
        }
    }
}

/// A `SharedRateLimitStore` in memory (the in-memory token bucket behind a lock), counting calls.
final class MemoryRateLimitStore: SharedRateLimitStore {
    private let state = Mutex<(limiters: [String: RateLimiter], calls: Int)>(([:], 0))
    let failing = Mutex(false)
    struct Down: Error {}
    func acquireRateLimit(bucket: String, limit: Int, period: Double, now: Date) async throws -> Double? {
        if failing.withLock({ $0 }) { throw Down() }
        return state.withLock { state in
            state.calls += 1
            var limiter = state.limiters[bucket] ?? RateLimiter(limit: limit, period: period)
            defer { state.limiters[bucket] = limiter }
            return limiter.acquire(bucket, now: now)
        }
    }
    func purgeRateLimits(now: Date) async throws {}
    func buckets() -> [String] { state.withLock { $0.limiters.keys.sorted() } }
    func calls() -> Int { state.withLock { $0.calls } }
}
