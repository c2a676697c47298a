import Foundation
import Synchronization
import Testing
import Verification
@testable import VerificationServer

@Suite("SQL store under concurrency")
struct StoreConcurrencyTests {
    @Test("concurrent updates of one row: exactly one wins per version", arguments: storeBackends)
    func concurrentUpdates(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            var current = StoreFixtures.verification()
            #expect(try await store.insert(current, event: StoreFixtures.created(current)))
            let writers = 16, rounds = 4
            for round in 1...rounds {
                let base = current
                let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            var candidate = StoreFixtures.next(base, at: Double(round))
                            candidate.checkAttempts = writer
                            let hook = StoreFixtures.webhook(candidate, created: Double(round), next: Double(round))
                            let won = try await store.update(candidate, event: StoreFixtures.event(candidate, .checkFailed, detail: "writer \(writer)"), webhook: hook)
                            return (writer, won)
                        }
                    }
                    return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
                }
                let winners = results.filter(\.1).map(\.0)
                try #require(winners.count == 1, "round \(round): winners \(winners)")
                let stored = try #require(try await store.verification(id: base.id))
                #expect(stored.version == base.version + 1)
                #expect(stored.checkAttempts == winners[0])
                current = stored
            }
            let events = try await store.events(verificationID: current.id)
            #expect(events.count == 1 + rounds)
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(1_000), limit: 100).count == rounds)
        }
    }

    @Test("concurrent changes of one row each count once: a decision is made on the row its write replaces", arguments: storeBackends)
    func concurrentChanges(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let v1 = StoreFixtures.verification()
            #expect(try await store.insert(v1, event: StoreFixtures.created(v1)))
            let writers = 24
            // Each writer adds one attempt to what it read, and decides again when its write lost.
            let lost = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var losses = 0
                        while try await store.change(id: v1.id, { stored -> VerificationDecision<Int> in
                            guard var next = stored else { return .refuse(VerificationError.notFound) }
                            next.version += 1
                            next.checkAttempts += 1
                            return VerificationDecision(write: VerificationWrite(
                                verification: next, event: StoreFixtures.event(next, .checkFailed, detail: "writer \(writer)")
                            ), answer: .success(next.checkAttempts))
                        }) == nil {
                            losses += 1
                        }
                        return losses
                    }
                }
                return try await group.reduce(0, +)
            }
            let stored = try #require(try await store.verification(id: v1.id))
            #expect(stored.checkAttempts == writers)
            #expect(stored.version == v1.version + writers)
            #expect(try await store.events(verificationID: v1.id).count == 1 + writers)
            // SQLite's one writer runs each change whole: nothing to lose.
            if backend == .sqlite { #expect(lost == 0) }
        }
    }

    @Test("concurrent holds of one system number for one caller: exactly one wins", arguments: storeBackends)
    func concurrentHolds(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let caller = "+886975000888"
            let ids = (0..<12).map { _ in StoreFixtures.newID() }
            let won = try await withThrowingTaskGroup(of: String?.self) { group in
                for id in ids {
                    group.addTask {
                        let hold = SystemNumberHold(systemNumber: "+886227208881", verificationID: id, until: StoreFixtures.at(600))
                        return try await store.holdSystemNumber(hold, caller: caller, now: StoreFixtures.t0, replacing: nil) ? id : nil
                    }
                }
                return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
            try #require(won.count == 1)
            #expect(try await store.systemNumberHolds(caller: caller, now: StoreFixtures.t0).map(\.verificationID) == won)
        }
    }

    /// Not a timing assertion: prints how many insert+update round trips per second the SQLite
    /// store sustains (sequential, one client), for the issue's numbers.
    @Test("throughput of insert+update on SQLite (printed)")
    func sqliteThroughput() async throws {
        try await withTestStore(.sqlite) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let count = 2_000
            let clock = ContinuousClock()
            let start = clock.now
            for i in 0..<count {
                let v = StoreFixtures.verification(to: "+8869750\(String(format: "%05d", i))")
                #expect(try await store.insert(v, event: StoreFixtures.created(v)))
                let approved = StoreFixtures.next(v, status: .approved)
                #expect(try await store.update(approved, event: StoreFixtures.event(approved, .approved), webhook: nil))
            }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("SQLite store: \(count) insert+update pairs in \(String(format: "%.2f", seconds)) s = \(Int(Double(count) / seconds)) pairs/s")
            #expect(try await store.expiredPending(now: StoreFixtures.at(10_000), limit: 10).isEmpty)
        }
    }
}

@Suite("SQL store locations")
struct StoreLocationTests {
    @Test("database URLs pick the backend", arguments: [
        ("sqlite:///var/lib/verigate/v.db", SQLStoreLocation.sqlite(path: "/var/lib/verigate/v.db")),
        ("sqlite://data/v.db", .sqlite(path: "data/v.db")),
        ("sqlite:data/v.db", .sqlite(path: "data/v.db")),
        ("/tmp/verigate.db", .sqlite(path: "/tmp/verigate.db")),
        ("verigate.db", .sqlite(path: "verigate.db")),
        ("postgres://verigate@127.0.0.1:5432/verigate", .postgres(url: "postgres://verigate@127.0.0.1:5432/verigate")),
        ("postgresql://u:p@db/v?tlsmode=disable", .postgres(url: "postgresql://u:p@db/v?tlsmode=disable")),
    ])
    func parse(url: String, expected: SQLStoreLocation) throws {
        #expect(try SQLStoreLocation(url) == expected)
    }

    @Test("other schemes are refused with a stable code", arguments: ["mysql://u@h/db", "sqlite://", "", "http://x/y"])
    func refuse(url: String) {
        #expect(throws: SQLStoreError.unsupportedURL(url)) { try SQLStoreLocation(url) }
        #expect(SQLStoreError.unsupportedURL(url).code == "store_unsupported_url")
    }

    @Test("error messages never show a password")
    func redaction() {
        #expect(SQLStoreError.redacted("postgres://user:hunter2@db:5432/v") == "postgres://user:***@db:5432/v")
        #expect(!SQLStoreError.unsupportedURL("mysql://user:hunter2@db/v").description.contains("hunter2"))
    }

    @Test("bad configuration is refused before connecting")
    func badConfiguration() async {
        await #expect(throws: SQLStoreError.self) {
            try await SQLVerificationStore.open(url: "/tmp/unused.db", configuration: .init(poolSize: 0), logger: TestDatabase.logger)
        }
        await #expect(throws: SQLStoreError.self) {
            try await SQLVerificationStore.open(
                url: "postgres://u@127.0.0.1:1/db", configuration: .init(postgresSchema: "x; DROP"), logger: TestDatabase.logger
            )
        }
    }
}
