import Foundation
import Logging
import SQLKit
import Synchronization
import Testing
import Verification
@testable import VerificationServer

// The store suite runs on every backend: SQLite always; PostgreSQL when DATABASE_URL is set
// (scripts/with-postgres.sh starts a throwaway server). With CI=true and no DATABASE_URL the
// PostgreSQL cases run and fail instead of being skipped.

/// Backends the suite runs on in this environment.
let storeBackends: [SQLStoreBackend] = {
    let env = ProcessInfo.processInfo.environment
    return env["DATABASE_URL"] != nil || env["CI"] == "true" ? [.sqlite, .postgres] : [.sqlite]
}()

/// A fresh, empty database for one test: an SQLite file in its own folder, or a PostgreSQL schema
/// of its own (tests run in parallel).
struct TestDatabase {
    struct MissingPostgres: Error, CustomStringConvertible {
        var description: String { "DATABASE_URL (postgres://…) is not set; run under scripts/with-postgres.sh" }
    }

    let backend: SQLStoreBackend
    let url: String
    let configuration: SQLVerificationStore.Configuration
    private let folder: URL?

    static let logger: Logger = {
        var logger = Logger(label: "store-tests")
        logger.logLevel = .warning
        return logger
    }()

    init(_ backend: SQLStoreBackend) throws {
        self.backend = backend
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        switch backend {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-store-\(suffix)")
            self.folder = folder
            self.url = "sqlite://" + folder.appendingPathComponent("verigate.db").path
            self.configuration = .init(poolSize: 4)
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"] else { throw MissingPostgres() }
            self.folder = nil
            self.url = url
            self.configuration = .init(poolSize: 3, postgresSchema: "t_" + suffix)
        }
    }

    func open() async throws -> SQLVerificationStore {
        try await SQLVerificationStore.open(url: url, configuration: configuration, logger: Self.logger)
    }

    /// Removes the database (drops the PostgreSQL schema through `store`, deletes the SQLite folder).
    func destroy(_ store: SQLVerificationStore) async {
        if let schema = configuration.postgresSchema {
            try? await store.withRawDatabase { try await $0.raw("DROP SCHEMA \(ident: schema) CASCADE").run() }
        }
        try? await store.shutdown()
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }
}

/// Runs `body` with a store on a fresh database of `backend`, then destroys the database.
func withTestStore(_ backend: SQLStoreBackend, _ body: (SQLVerificationStore, TestDatabase) async throws -> Void) async throws {
    let database = try TestDatabase(backend)
    let store = try await database.open()
    do {
        try await body(store, database)
    } catch {
        await database.destroy(store)
        throw error
    }
    await database.destroy(store)
}

/// Values used across the store tests. Instants are whole microseconds so that they round-trip exactly.
enum StoreFixtures {
    static let t0 = at(0)

    /// `seconds` after 1_800_000_000.123456 (since 1970), built the way the store reads instants back.
    static func at(_ seconds: Double) -> Date {
        Date(timeIntervalSince1970: Double(1_800_000_000_123_456 + Int64((seconds * 1_000_000).rounded())) / 1_000_000)
    }

    static func newID() -> String {
        "VE" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    static func verification(
        id: String = newID(), to: String = "+886975000888", channel: VerificationMethod = .sms, createdAt: Date = t0,
        expiresAt: Date = at(600), systemNumber: String? = nil
    ) -> Verification {
        Verification(
            id: id, to: to, region: "TW", channel: channel, locale: "en", codeLength: 6,
            codeMAC: channel.usesCode ? Array(repeating: 0xA5, count: 32) : nil,
            createdAt: createdAt, expiresAt: expiresAt, systemNumber: systemNumber
        )
    }

    /// A verification with every optional field set and distinct values everywhere.
    static func full() -> Verification {
        var v = Verification(
            id: newID(), to: "+886229996666", region: "TW", channel: .dtmfCallIn, status: .pending,
            locale: "zh-TW", codeLength: 8, codeMAC: (0..<32).map { UInt8($0 * 7 & 0xFF) },
            createdAt: at(0.000001), expiresAt: at(600.5), lastSentAt: at(1.25), sendCount: 2, checkAttempts: 3,
            systemNumber: "+886227208889", callbackURL: "https://example.test/hook?x=1", apiKeyID: "AK1",
            failureReason: "none yet", version: 1
        )
        v.updatedAt = at(2.5)
        return v
    }

    static func created(_ v: Verification) -> VerificationEvent {
        VerificationEvent(verificationID: v.id, kind: .created, status: .pending, at: v.createdAt)
    }

    /// `v` moved to `status` as the next version.
    static func next(_ v: Verification, status: VerificationStatus = .pending, at seconds: Double = 10) -> Verification {
        var n = v
        n.status = status
        n.version += 1
        n.updatedAt = at(seconds)
        return n
    }

    static func event(_ v: Verification, _ kind: VerificationEvent.Kind, detail: String? = nil) -> VerificationEvent {
        VerificationEvent(verificationID: v.id, kind: kind, status: v.status, at: v.updatedAt, detail: detail)
    }

    static func webhook(_ v: Verification, created: Double, next: Double) -> WebhookDelivery {
        var w = WebhookDelivery(id: newID(), verificationID: v.id, url: "https://example.test/cb", body: "{\"id\":\"\(v.id)\"}", createdAt: at(created))
        w.nextAttemptAt = at(next)
        return w
    }

    /// A webhook for `v` that names a verification that does not exist: the foreign key refuses it,
    /// so a write carrying it fails midway.
    static func orphanWebhook(_ v: Verification, created: Double) -> WebhookDelivery {
        var w = webhook(v, created: created, next: created)
        w.verificationID = "VEmissing"
        return w
    }
}

@Suite("SQL store")
struct StoreTests {
    @Test("insert and read back every field", arguments: storeBackends)
    func roundTrip(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let full = StoreFixtures.full()
            #expect(try await store.insert(full, event: StoreFixtures.created(full)))
            #expect(try await store.verification(id: full.id) == full)

            var minimal = StoreFixtures.verification(channel: .missedCall, systemNumber: nil)
            minimal.codeMAC = nil
            #expect(try await store.insert(minimal, event: StoreFixtures.created(minimal)))
            let readMinimal = try await store.verification(id: minimal.id)
            #expect(readMinimal == minimal)
            #expect(readMinimal?.codeMAC == nil && readMinimal?.lastSentAt == nil && readMinimal?.callbackURL == nil)

            #expect(try await store.verification(id: "VEnothing") == nil)
            #expect(try await store.events(verificationID: full.id) == [StoreFixtures.created(full)])
        }
    }

    @Test("several pending verifications for one number and channel are all stored: every start is its own (issue 12)", arguments: storeBackends)
    func severalPending(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let first = StoreFixtures.verification()
            let second = StoreFixtures.verification()
            #expect(try await store.insert(first, event: StoreFixtures.created(first)))
            #expect(try await store.insert(second, event: StoreFixtures.created(second)))
            #expect(try await store.verification(id: first.id) == first)
            #expect(try await store.verification(id: second.id) == second)
            #expect(try await store.events(verificationID: second.id) == [StoreFixtures.created(second)])
        }
    }

    @Test("system number holds: one verification per caller and number until its expiry; the replaced one hands over", arguments: storeBackends)
    func systemNumberHolds(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let caller = "+886975000888", s1 = "+886227208881", s2 = "+886227208882"
            let now = StoreFixtures.t0
            let a = SystemNumberHold(systemNumber: s1, verificationID: "VEa", until: StoreFixtures.at(600))
            #expect(try await store.holdSystemNumber(a, caller: caller, now: now, replacing: nil))
            // Another verification of the same caller cannot take s1 before a's hold ends...
            let b = SystemNumberHold(systemNumber: s1, verificationID: "VEb", until: StoreFixtures.at(700))
            #expect(try await store.holdSystemNumber(b, caller: caller, now: StoreFixtures.at(599), replacing: nil) == false)
            #expect(try await store.holdSystemNumber(b, caller: caller, now: StoreFixtures.at(599), replacing: "VEother") == false)
            // ...but another caller can, and so can s2.
            #expect(try await store.holdSystemNumber(b, caller: "+886975000999", now: now, replacing: nil))
            let b2 = SystemNumberHold(systemNumber: s2, verificationID: "VEb", until: StoreFixtures.at(700))
            #expect(try await store.holdSystemNumber(b2, caller: caller, now: now, replacing: nil))
            #expect(try await store.systemNumberHolds(caller: caller, now: now) == [a, b2])
            #expect(try await store.systemNumberHolds(caller: caller, now: StoreFixtures.at(600)) == [b2])
            // The page switching away from a hands s1 over at once.
            let c = SystemNumberHold(systemNumber: s1, verificationID: "VEc", until: StoreFixtures.at(800))
            #expect(try await store.holdSystemNumber(c, caller: caller, now: now, replacing: "VEa"))
            #expect(try await store.systemNumberHolds(caller: caller, now: now) == [b2, c])
            // After c's end anyone may take s1.
            let d = SystemNumberHold(systemNumber: s1, verificationID: "VEd", until: StoreFixtures.at(1_500))
            #expect(try await store.holdSystemNumber(d, caller: caller, now: StoreFixtures.at(800), replacing: nil))
            try await store.releaseSystemNumberHolds(endedBy: StoreFixtures.at(800))
            #expect(try await store.systemNumberHolds(caller: caller, now: StoreFixtures.t0) == [d])
            #expect(try await store.systemNumberHolds(caller: "+886975000999", now: StoreFixtures.t0).isEmpty)
        }
    }

    @Test("migration 4 drops the pending index and holds the numbers of pending call-in verifications", arguments: storeBackends)
    func migrationFourBackfillsHolds(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let missed = StoreFixtures.verification(channel: .missedCall, systemNumber: "+886227208881")
            let sms = StoreFixtures.verification()
            #expect(try await store.insert(missed, event: StoreFixtures.created(missed)))
            #expect(try await store.insert(sms, event: StoreFixtures.created(sms)))
            // As before version 4: no holds, version 4 not recorded.
            try await store.withRawDatabase { db in
                try await db.raw("DELETE FROM system_number_holds").run()
                try await db.raw("DELETE FROM schema_migrations WHERE version = 4").run()
            }
            try await store.migrate()
            #expect(try await store.systemNumberHolds(caller: missed.to, now: StoreFixtures.t0)
                == [SystemNumberHold(systemNumber: "+886227208881", verificationID: missed.id, until: missed.expiresAt)])
            #expect(try await store.appliedMigrations() == SQLStoreMigration.all.map(\.version))
        }
    }

    @Test("a duplicate id is an error, not a refused duplicate", arguments: storeBackends)
    func duplicateIDThrows(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let first = StoreFixtures.verification()
            #expect(try await store.insert(first, event: StoreFixtures.created(first)))
            let sameID = StoreFixtures.verification(id: first.id, to: "+886975000111")
            await #expect(throws: (any Error).self) {
                try await store.insert(sameID, event: StoreFixtures.created(sameID))
            }
            #expect(try await store.verification(id: first.id) == first)
        }
    }

    @Test("updates apply only on the expected version", arguments: storeBackends)
    func optimisticConcurrency(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let v1 = StoreFixtures.verification()
            #expect(try await store.insert(v1, event: StoreFixtures.created(v1)))

            var v2 = StoreFixtures.next(v1)
            v2.checkAttempts = 1
            #expect(try await store.update(v2, event: StoreFixtures.event(v2, .checkFailed), webhook: nil))

            var stale = StoreFixtures.next(v1)
            stale.checkAttempts = 99
            let staleHook = StoreFixtures.webhook(stale, created: 1, next: 1)
            #expect(try await store.update(stale, event: StoreFixtures.event(stale, .checkFailed), webhook: staleHook) == false)

            var skipping = v2
            skipping.version = 4
            #expect(try await store.update(skipping, event: StoreFixtures.event(skipping, .approved), webhook: nil) == false)

            let missing = StoreFixtures.next(StoreFixtures.verification(to: "+886975000123"))
            #expect(try await store.update(missing, event: StoreFixtures.event(missing, .approved), webhook: nil) == false)

            #expect(try await store.verification(id: v1.id) == v2)
            #expect(try await store.events(verificationID: v1.id).map(\.kind) == [.created, .checkFailed])
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(1_000), limit: 10).isEmpty)
        }
    }

    @Test("an update whose webhook cannot be stored changes nothing", arguments: storeBackends)
    func updateIsAtomic(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let v1 = StoreFixtures.verification()
            #expect(try await store.insert(v1, event: StoreFixtures.created(v1)))
            let v2 = StoreFixtures.next(v1, status: .approved)
            // The webhook points at a verification that does not exist: the foreign key refuses it.
            let orphan = StoreFixtures.orphanWebhook(v2, created: 1)
            await #expect(throws: (any Error).self) {
                try await store.update(v2, event: StoreFixtures.event(v2, .approved), webhook: orphan)
            }
            #expect(try await store.verification(id: v1.id) == v1)
            #expect(try await store.events(verificationID: v1.id) == [StoreFixtures.created(v1)])
            // The connection is usable again and the update can be retried.
            #expect(try await store.update(v2, event: StoreFixtures.event(v2, .approved), webhook: nil))
        }
    }

    @Test("a change reads the row, decides and writes in one transaction; a stale or refused write changes nothing", arguments: storeBackends)
    func changeReadsDecidesAndWrites(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let v1 = StoreFixtures.verification()
            #expect(try await store.insert(v1, event: StoreFixtures.created(v1)))
            let v2 = StoreFixtures.next(v1, status: .approved)
            let approve = VerificationWrite(verification: v2, event: StoreFixtures.event(v2, .approved),
                                            webhook: StoreFixtures.webhook(v2, created: 1, next: 1))
            let seen = Mutex<[Verification?]>([])

            // The decision sees the stored row and its write lands with its event and webhook.
            let written = try await store.change(id: v1.id) { stored in
                seen.withLock { $0.append(stored) }
                return VerificationDecision(write: approve, answer: .success(7))
            }
            #expect(try written?.answer.get() == 7)
            #expect(seen.withLock { $0 } == [v1])
            #expect(try await store.verification(id: v1.id) == v2)
            #expect(try await store.events(verificationID: v1.id).map(\.kind) == [.created, .approved])
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(1_000), limit: 10).map(\.id) == [approve.webhook?.id])

            // An unknown id is decided on as nil; a refusal writes nothing and comes back as decided.
            let unknown = try await store.change(id: "VEnone") { stored in
                seen.withLock { $0.append(stored) }
                return VerificationDecision<Int>.refuse(VerificationError.notFound)
            }
            #expect(seen.withLock { $0.last } == .some(nil))
            #expect(throws: VerificationError.notFound) { try unknown?.answer.get() }

            // A write of a version that is not the stored one's next is lost: nil, nothing written.
            var staleNext = StoreFixtures.next(v1)
            staleNext.checkAttempts = 99
            let stale = staleNext
            let lost = try await store.change(id: v1.id) { _ in
                VerificationDecision(write: VerificationWrite(verification: stale, event: StoreFixtures.event(stale, .checkFailed)), answer: .success(1))
            }
            #expect(lost == nil)

            // A write that fails midway (its webhook's verification does not exist) leaves nothing.
            let v3 = StoreFixtures.next(v2, status: .approved)
            let orphan = StoreFixtures.orphanWebhook(v3, created: 2)
            await #expect(throws: (any Error).self) {
                try await store.change(id: v1.id) { _ in
                    VerificationDecision(write: VerificationWrite(verification: v3, event: StoreFixtures.event(v3, .approved), webhook: orphan), answer: .success(2))
                }
            }
            #expect(try await store.verification(id: v1.id) == v2)
            #expect(try await store.events(verificationID: v1.id).map(\.kind) == [.created, .approved])
        }
    }

    @Test("a call-in change decides on the caller's pending call-ins and writes all of its writes or none", arguments: storeBackends)
    func changePendingCallInIsAllOrNothing(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let caller = "+886975000321", number = "+886227208881"
            let older = StoreFixtures.verification(to: caller, channel: .missedCall, createdAt: StoreFixtures.at(0), systemNumber: number)
            let newer = StoreFixtures.verification(to: caller, channel: .missedCall, createdAt: StoreFixtures.at(5), systemNumber: number)
            let elsewhere = StoreFixtures.verification(to: caller, channel: .missedCall, createdAt: StoreFixtures.at(6), systemNumber: "+886227208882")
            for v in [older, newer, elsewhere] { #expect(try await store.insert(v, event: StoreFixtures.created(v))) }
            let (olderRow, newerRow) = (older, newer)

            // The second write is stale: nil, and the first (valid on its own) is rolled back with it.
            let expire = StoreFixtures.next(olderRow, status: .expired)
            var stale = StoreFixtures.next(newerRow, status: .approved)
            stale.version += 1
            let staleApproval = stale
            let lost = try await store.changePendingCallIn(caller: caller, systemNumber: number) { candidates in
                VerificationDecision(writes: [
                    VerificationWrite(verification: expire, event: StoreFixtures.event(expire, .expired)),
                    VerificationWrite(verification: staleApproval, event: StoreFixtures.event(staleApproval, .approved)),
                ], answer: .success(candidates.map(\.id)))
            }
            #expect(lost == nil)
            #expect(try await store.verification(id: older.id) == older)

            // Both writes valid: both land, and the decision saw this system number's rows, newest first.
            let approve = StoreFixtures.next(newerRow, status: .approved)
            let written = try await store.changePendingCallIn(caller: caller, systemNumber: number) { candidates in
                VerificationDecision(writes: [
                    VerificationWrite(verification: expire, event: StoreFixtures.event(expire, .expired)),
                    VerificationWrite(verification: approve, event: StoreFixtures.event(approve, .approved)),
                ], answer: .success(candidates.map(\.id)))
            }
            #expect(try written?.answer.get() == [newer.id, older.id])
            #expect(try await store.verification(id: older.id) == expire)
            #expect(try await store.verification(id: newer.id) == approve)
            #expect(try await store.pendingCallIn(caller: caller, systemNumber: nil).map(\.id) == [elsewhere.id])
        }
    }

    @Test("sends are listed strictly after the window start, oldest first, limited", arguments: storeBackends)
    func sendsWindow(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let a = "+886975000888", b = "+886975000999"
            for seconds in [30.0, 0, 20, 10.000001, 10] {
                try await store.recordSend(to: a, verificationID: "VEa", at: StoreFixtures.at(seconds))
            }
            try await store.recordSend(to: b, verificationID: "VEb", at: StoreFixtures.at(15))
            #expect(try await store.sends(to: a, since: StoreFixtures.at(10), limit: 10)
                == [10.000001, 20, 30].map(StoreFixtures.at))
            #expect(try await store.sends(to: a, since: StoreFixtures.at(9.999999), limit: 2) == [10, 10.000001].map(StoreFixtures.at))
            #expect(try await store.sends(to: a, since: StoreFixtures.at(30), limit: 10).isEmpty)
            #expect(try await store.sends(to: b, since: StoreFixtures.t0, limit: 10) == [StoreFixtures.at(15)])
            #expect(try await store.sends(to: "+886975000000", since: StoreFixtures.t0, limit: 10).isEmpty)
        }
    }

    @Test("pending call-ins for a caller, newest first, filtered by system number", arguments: storeBackends)
    func pendingCallIn(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let caller = "+886975000888", s1 = "+886227208881", s2 = "+886227208882"
            let voice = StoreFixtures.verification(to: caller, channel: .voiceCallIn, createdAt: StoreFixtures.at(0), systemNumber: s1)
            let missed = StoreFixtures.verification(to: caller, channel: .missedCall, createdAt: StoreFixtures.at(5), systemNumber: s2)
            let dtmf = StoreFixtures.verification(to: caller, channel: .dtmfCallIn, createdAt: StoreFixtures.at(10), systemNumber: s1)
            let sms = StoreFixtures.verification(to: caller, channel: .sms, createdAt: StoreFixtures.at(20))
            let outbound = StoreFixtures.verification(to: caller, channel: .dtmfCallOut, createdAt: StoreFixtures.at(30), systemNumber: s1)
            let otherCaller = StoreFixtures.verification(to: "+886975000999", channel: .voiceCallIn, createdAt: StoreFixtures.at(40), systemNumber: s1)
            for v in [voice, missed, dtmf, sms, outbound, otherCaller] {
                #expect(try await store.insert(v, event: StoreFixtures.created(v)))
            }
            #expect(try await store.pendingCallIn(caller: caller, systemNumber: nil) == [dtmf, missed, voice])
            #expect(try await store.pendingCallIn(caller: caller, systemNumber: s1) == [dtmf, voice])
            #expect(try await store.pendingCallIn(caller: caller, systemNumber: "+886227208883").isEmpty)

            let approved = StoreFixtures.next(voice, status: .approved)
            #expect(try await store.update(approved, event: StoreFixtures.event(approved, .approved), webhook: nil))
            #expect(try await store.pendingCallIn(caller: caller, systemNumber: s1) == [dtmf])
        }
    }

    @Test("pending verifications are counted per system number", arguments: storeBackends)
    func pendingCounts(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let s1 = "+886227208881", s2 = "+886227208882", s3 = "+886227208883"
            let rows: [(String, VerificationMethod, String)] = [
                ("+886975000001", .voiceCallIn, s1), ("+886975000002", .voiceCallIn, s1), ("+886975000003", .missedCall, s2),
                ("+886975000004", .dtmfCallIn, s1), ("+886975000005", .missedCall, s3),
            ]
            var stored: [Verification] = []
            for (to, channel, number) in rows {
                let v = StoreFixtures.verification(to: to, channel: channel, systemNumber: number)
                #expect(try await store.insert(v, event: StoreFixtures.created(v)))
                stored.append(v)
            }
            let canceled = StoreFixtures.next(stored[3], status: .canceled)
            #expect(try await store.update(canceled, event: StoreFixtures.event(canceled, .canceled), webhook: nil))

            #expect(try await store.pendingCounts(systemNumbers: [s1, s2, "+886227208889"]) == [s1: 2, s2: 1])
            #expect(try await store.pendingCounts(systemNumbers: []) == [:])
        }
    }

    @Test("due webhooks come oldest first and leave the queue when delivered or abandoned", arguments: storeBackends)
    func webhooks(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            var v = StoreFixtures.verification()
            #expect(try await store.insert(v, event: StoreFixtures.created(v)))
            var hooks: [WebhookDelivery] = []
            for (created, next) in [(2.0, 2.0), (1, 100), (0, 0), (3, 3)] {
                let n = StoreFixtures.next(v)
                let hook = StoreFixtures.webhook(n, created: created, next: next)
                #expect(try await store.update(n, event: StoreFixtures.event(n, .sent), webhook: hook))
                hooks.append(hook)
                v = n
            }
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(10), limit: 10) == [hooks[2], hooks[0], hooks[3]])
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(10), limit: 1) == [hooks[2]])
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(2), limit: 10) == [hooks[2], hooks[0]])

            var delivered = hooks[2]
            delivered.attempts = 1
            delivered.deliveredAt = StoreFixtures.at(0.5)
            try await store.updateWebhook(delivered)

            var retried = hooks[0]
            retried.attempts = 1
            retried.nextAttemptAt = StoreFixtures.at(50)
            retried.lastError = "HTTP 503"
            try await store.updateWebhook(retried)

            var abandoned = hooks[3]
            abandoned.attempts = 9
            abandoned.abandonedAt = StoreFixtures.at(700)
            try await store.updateWebhook(abandoned)

            #expect(try await store.dueWebhooks(now: StoreFixtures.at(10), limit: 10).isEmpty)
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(60), limit: 10) == [retried])
            #expect(try await store.dueWebhooks(now: StoreFixtures.at(100), limit: 10) == [hooks[1], retried])
        }
    }

    @Test("call retries: claimed when due, earliest first, once; a new time replaces the old", arguments: storeBackends)
    func callRetries(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let a = StoreFixtures.verification(to: "+886975000001", channel: .voiceCall)
            let b = StoreFixtures.verification(to: "+886975000002", channel: .voiceCall)
            let c = StoreFixtures.verification(to: "+886975000003", channel: .dtmfCallOut)
            for v in [a, b, c] { #expect(try await store.insert(v, event: StoreFixtures.created(v))) }
            try await store.scheduleCallRetry(verificationID: b.id, at: StoreFixtures.at(20))
            try await store.scheduleCallRetry(verificationID: a.id, at: StoreFixtures.at(10))
            try await store.scheduleCallRetry(verificationID: c.id, at: StoreFixtures.at(5))
            try await store.scheduleCallRetry(verificationID: c.id, at: StoreFixtures.at(40))  // replaces 5

            #expect(try await store.claimDueCallRetries(now: StoreFixtures.at(9), limit: 10).isEmpty)
            #expect(try await store.claimDueCallRetries(now: StoreFixtures.at(30), limit: 1) == [a.id])
            #expect(try await store.claimDueCallRetries(now: StoreFixtures.at(30), limit: 10) == [b.id])
            #expect(try await store.claimDueCallRetries(now: StoreFixtures.at(30), limit: 10).isEmpty)

            // Sixteen claimers at once share the due retries: each id goes to exactly one.
            var ids: [String] = []
            for n in 0..<20 {
                let v = StoreFixtures.verification(to: "+88697510\(String(format: "%04d", n))", channel: .voiceCall)
                #expect(try await store.insert(v, event: StoreFixtures.created(v)))
                try await store.scheduleCallRetry(verificationID: v.id, at: StoreFixtures.at(Double(n)))
                ids.append(v.id)
            }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<16 { group.addTask { try await store.claimDueCallRetries(now: StoreFixtures.at(100), limit: 3) } }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claimed.count == Set(claimed).count)
            #expect(Set(claimed) == Set(ids + [c.id]))
        }
    }

    @Test("sent SMS: owner found (by another node too) until settled; due ones claimed earliest first, once", arguments: storeBackends)
    func sentSMS(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, database: TestDatabase) async throws in
            let a = StoreFixtures.verification(to: "+886975000001", channel: .sms)
            let b = StoreFixtures.verification(to: "+886975000002", channel: .sms)
            for v in [a, b] { #expect(try await store.insert(v, event: StoreFixtures.created(v))) }
            try await store.recordSentSMS(key: "0A1B", verificationID: a.id, dueAt: StoreFixtures.at(30), reportRequired: true)
            try await store.recordSentSMS(key: "0A1C", verificationID: a.id, dueAt: StoreFixtures.at(10), reportRequired: false)
            try await store.recordSentSMS(key: "0A1D", verificationID: b.id, dueAt: StoreFixtures.at(20), reportRequired: true)

            let other = try await database.open()  // another node, or this one after a restart
            #expect(try await other.sentSMSOwner(key: "0A1B") == a.id)
            #expect(try await other.sentSMSOwner(key: "0A1D") == b.id)
            #expect(try await other.sentSMSOwner(key: "FFFF") == nil)
            #expect(try await other.settleSentSMS(key: "0A1D") == b.id)
            try await other.shutdown()
            #expect(try await store.settleSentSMS(key: "0A1D") == nil, "settled once")
            #expect(try await store.sentSMSOwner(key: "0A1D") == nil)

            #expect(try await store.claimDueSentSMS(now: StoreFixtures.at(9), limit: 10).isEmpty)
            #expect(try await store.claimDueSentSMS(now: StoreFixtures.at(40), limit: 1)
                    == [SentSMS(key: "0A1C", verificationID: a.id, reportRequired: false)])
            #expect(try await store.claimDueSentSMS(now: StoreFixtures.at(40), limit: 10)
                    == [SentSMS(key: "0A1B", verificationID: a.id, reportRequired: true)])
            #expect(try await store.claimDueSentSMS(now: StoreFixtures.at(40), limit: 10).isEmpty)
            #expect(try await store.sentSMSOwner(key: "0A1B") == nil)

            // Sixteen claimers at once: each message goes to exactly one.
            for n in 0..<20 {
                try await store.recordSentSMS(key: "M\(n)", verificationID: b.id, dueAt: StoreFixtures.at(Double(n)), reportRequired: true)
            }
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<16 { group.addTask { try await store.claimDueSentSMS(now: StoreFixtures.at(100), limit: 3).map(\.key) } }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claimed.count == 20)
            #expect(Set(claimed) == Set((0..<20).map { "M\($0)" }))
        }
    }

    @Test("expired pending verifications are found, oldest expiry first", arguments: storeBackends)
    func expiredPending(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let soon = StoreFixtures.verification(to: "+886975000001", expiresAt: StoreFixtures.at(10))
            let later = StoreFixtures.verification(to: "+886975000002", expiresAt: StoreFixtures.at(20))
            let done = StoreFixtures.verification(to: "+886975000003", expiresAt: StoreFixtures.at(5))
            for v in [later, soon, done] {
                #expect(try await store.insert(v, event: StoreFixtures.created(v)))
            }
            let approved = StoreFixtures.next(done, status: .approved)
            #expect(try await store.update(approved, event: StoreFixtures.event(approved, .approved), webhook: nil))

            #expect(try await store.expiredPending(now: StoreFixtures.at(9), limit: 10).isEmpty)
            #expect(try await store.expiredPending(now: StoreFixtures.at(15), limit: 10) == [soon])
            #expect(try await store.expiredPending(now: StoreFixtures.at(20), limit: 10) == [soon, later])
            #expect(try await store.expiredPending(now: StoreFixtures.at(20), limit: 1) == [soon])
        }
    }

    @Test("API keys are found by their SHA-256 and counted", arguments: storeBackends)
    func apiKeys(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            #expect(try await store.apiKeyCount() == 0)
            let k1 = APIKeyRecord(id: "AK1", name: "first", sha256: Array(repeating: 1, count: 32), createdAt: StoreFixtures.at(1))
            let k2 = APIKeyRecord(id: "AK2", name: "second", sha256: (0..<32).map { UInt8($0) }, createdAt: StoreFixtures.at(2))
            try await store.insertAPIKey(k1)
            try await store.insertAPIKey(k2)
            #expect(try await store.apiKeyCount() == 2)
            #expect(try await store.apiKey(sha256: k2.sha256) == k2)
            #expect(try await store.apiKey(sha256: k1.sha256) == k1)
            #expect(try await store.apiKey(sha256: Array(repeating: 2, count: 32)) == nil)
            let sameHash = APIKeyRecord(id: "AK3", name: "copy", sha256: k1.sha256, createdAt: StoreFixtures.at(3))
            await #expect(throws: (any Error).self) { try await store.insertAPIKey(sameHash) }
            #expect(try await store.apiKeyCount() == 2)
        }
    }

    @Test("migrations are recorded once and rerunning them changes nothing", arguments: storeBackends)
    func migrationsIdempotent(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, database: TestDatabase) async throws in
            let versions = SQLStoreMigration.all.map(\.version)
            #expect(try await store.appliedMigrations() == versions)
            let v = StoreFixtures.full()
            #expect(try await store.insert(v, event: StoreFixtures.created(v)))

            try await store.migrate()
            // Two more nodes start at once on the same database.
            async let a = database.open()
            async let b = database.open()
            let (storeA, storeB) = try await (a, b)
            #expect(try await storeA.appliedMigrations() == versions)
            #expect(try await storeB.verification(id: v.id) == v)
            try await storeA.shutdown()
            try await storeB.shutdown()
            #expect(try await store.appliedMigrations() == versions)
        }
    }

    @Test("the lookups of pending verifications use the partial indexes of migrations 10 and 11: an inbound call's (caller, system number) and (caller, any system number), the call-in start's counts per system number, the expiry sweep", arguments: storeBackends)
    func pendingLookupsUsePartialIndexes(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            // Rows for the planners to weigh: 400 pending call-ins from 200 callers on 4 system
            // numbers, expiring over an hour; PostgreSQL's statistics taken after.
            for index in 0..<400 {
                let v = StoreFixtures.verification(to: "+88697500\(String(format: "%04d", index % 200))", channel: .missedCall,
                                                   expiresAt: StoreFixtures.at(Double(60 + index * 9)), systemNumber: "+88622999666\(index % 4)")
                #expect(try await store.insert(v, event: StoreFixtures.created(v)))
            }
            if backend == .postgres { try await store.withRawDatabase { try await $0.raw("ANALYZE verifications").run() } }
            let queries: [(index: String, query: SQLQueryString)] = [
                // pendingCallIn's own SELECT: SQLite 3.40 chose the system number's index here before migration 9.
                ("verifications_call_in_caller", SQLVerificationStore.pendingCallInQuery(caller: "+886975000017", systemNumber: "+886229996661")),
                ("verifications_call_in_caller", SQLVerificationStore.pendingCallInQuery(caller: "+886975000017", systemNumber: nil)),
                ("verifications_call_in_system", "SELECT system_number, COUNT(*) AS pending FROM verifications WHERE status = 'pending' AND system_number IN ('+886229996661', '+886229996669') GROUP BY system_number"),
                ("verifications_pending_expiry", "SELECT id FROM verifications WHERE status = 'pending' AND expires_at <= \(bind: SQLTime.micros(StoreFixtures.at(100))) ORDER BY expires_at, id LIMIT 10"),
            ]
            for (index, query) in queries {
                let plan = try await store.withRawDatabase { db in
                    // PostgreSQL plans an empty table as a sequential scan: forbid it, so the plan
                    // shows whether the index can serve the query at all.
                    if backend == .postgres { try await db.raw("SET enable_seqscan = off").run() }
                    let explain: SQLQueryString = backend == .postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN "
                    let plan = try await db.raw(explain + query).all().map { try $0.decode(column: backend == .postgres ? "QUERY PLAN" : "detail", as: String.self) }
                    if backend == .postgres { try await db.raw("RESET enable_seqscan").run() }
                    return plan
                }
                #expect(plan.contains { $0.contains(index) }, "\(backend) \(index): \(plan)")
            }
        }
    }

    @Test("the indexes looked up by system number hold the pending call-in verifications only, not the sms ones (an sms approval writes no page of them); the expiry index holds every pending one", arguments: storeBackends)
    func callInIndexesHoldCallInsOnly(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            var callIns: [Verification] = []
            for index in 0..<50 {
                let callIn = index % 5 < 2
                let v = StoreFixtures.verification(to: "+88697500\(String(format: "%04d", index))", channel: callIn ? .missedCall : .sms,
                                                   systemNumber: callIn ? "+88622999666\(index % 4)" : nil)
                #expect(try await store.insert(v, event: StoreFixtures.created(v)))
                if callIn { callIns.append(v) }
            }
            for v in callIns.prefix(5) {
                let approved = StoreFixtures.next(v, status: .approved)
                #expect(try await store.update(approved, event: StoreFixtures.event(approved, .approved), webhook: nil))
            }
            let entries = try await store.withRawDatabase { db in
                if backend == .postgres { try await db.raw("ANALYZE verifications").run() }
                var entries: [String: Int] = [:]
                for index in ["verifications_call_in_caller", "verifications_call_in_system", "verifications_pending_expiry"] {
                    // The entries each index holds: SQLite's dbstat counts the cells of its pages;
                    // PostgreSQL's ANALYZE sets a partial index's reltuples to the share of the
                    // sampled rows its predicate takes (exact here: a table this small is sampled
                    // whole). VACUUM's count is not dependable: with other tests' transactions
                    // open it may leave the index alone.
                    let query: SQLQueryString = backend == .postgres
                        ? "SELECT CAST(reltuples AS BIGINT) AS entries FROM pg_class WHERE oid = CAST(\(bind: index) AS regclass)"
                        : "SELECT SUM(ncell) AS entries FROM dbstat WHERE name = \(bind: index) AND pagetype = 'leaf'"
                    entries[index] = try await db.raw(query).first().map { try $0.decode(column: "entries", as: Int.self) }
                }
                return entries
            }
            #expect(entries == ["verifications_call_in_caller": 15, "verifications_call_in_system": 15, "verifications_pending_expiry": 45])
        }
    }

    @Test("a migration runner waits only for runners of its own schema (the advisory lock is per schema)", .timeLimit(.minutes(1)))
    func migrationLockPerSchema() async throws {
        // PostgreSQL only: SQLite has one database per file and no advisory locks.
        guard storeBackends.contains(.postgres) else { return }
        let versions = SQLStoreMigration.all.map(\.version)
        let a = try TestDatabase(.postgres)
        let b = try TestDatabase(.postgres)
        let storeA = try await a.open()
        let keyA = SQLStoreMigrator.advisoryLockKey(schema: a.configuration.postgresSchema)
        #expect(keyA != SQLStoreMigrator.advisoryLockKey(schema: b.configuration.postgresSchema))
        #expect(keyA == SQLStoreMigrator.advisoryLockKey(schema: a.configuration.postgresSchema))
        try await storeA.withRawDatabase { db in
            // As if a node of deployment A were migrating right now.
            try await db.raw("SELECT pg_advisory_lock(\(bind: keyA))").run()
            // Deployment B migrates meanwhile: it finishes, never shows up waiting for the lock.
            let finishedB = Mutex(false)
            let openB = Task {
                defer { finishedB.withLock { $0 = true } }
                return try await b.open()
            }
            while true {
                if try await waitersOnLock(db, keyA) > 0 {
                    Issue.record("deployment B's migration waits for deployment A's lock")
                    try await db.raw("SELECT pg_advisory_unlock(\(bind: keyA))").run()
                    _ = try? await openB.value
                    return
                }
                if finishedB.withLock({ $0 }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let storeB = try await openB.value
            #expect(try await storeB.appliedMigrations() == versions)
            await b.destroy(storeB)
            // A second node of A waits for the lock: PostgreSQL shows its request not granted.
            let secondA = Task { try await a.open() }
            while try await waitersOnLock(db, keyA) == 0 { try await Task.sleep(for: .milliseconds(20)) }
            try await db.raw("SELECT pg_advisory_unlock(\(bind: keyA))").run()
            let storeA2 = try await secondA.value
            #expect(try await storeA2.appliedMigrations() == versions)
            try await storeA2.shutdown()
        }
        await a.destroy(storeA)
    }

    /// Sessions waiting for the advisory lock `key` (PostgreSQL shows a bigint key as classid/objid).
    private func waitersOnLock(_ db: any SQLDatabase, _ key: Int64) async throws -> Int {
        let rows = try await db.raw("""
            SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
            AND ((classid::bigint << 32) | objid::bigint) = \(bind: key)
            """).all()
        return try rows.first?.decode(column: "n", as: Int.self) ?? 0
    }

    @Test("everything stored survives closing and reopening the database", arguments: storeBackends)
    func restart(backend: SQLStoreBackend) async throws {
        let database = try TestDatabase(backend)
        let first = try await database.open()
        let v = StoreFixtures.full()
        let next = StoreFixtures.next(v, status: .approved)
        let hook = StoreFixtures.webhook(next, created: 3, next: 4)
        let key = APIKeyRecord(id: "AK1", name: "first", sha256: Array(repeating: 7, count: 32), createdAt: StoreFixtures.at(1))
        do {
            #expect(try await first.insert(v, event: StoreFixtures.created(v)))
            #expect(try await first.update(next, event: StoreFixtures.event(next, .approved, detail: "typed on web"), webhook: hook))
            try await first.recordSend(to: v.to, verificationID: v.id, at: StoreFixtures.at(1))
            try await first.insertAPIKey(key)
            try await first.shutdown()
        } catch {
            await database.destroy(first)
            throw error
        }

        let reopened = try await database.open()
        do {
            #expect(try await reopened.verification(id: v.id) == next)
            #expect(try await reopened.events(verificationID: v.id)
                == [StoreFixtures.created(v), StoreFixtures.event(next, .approved, detail: "typed on web")])
            #expect(try await reopened.dueWebhooks(now: StoreFixtures.at(5), limit: 10) == [hook])
            #expect(try await reopened.sends(to: v.to, since: StoreFixtures.t0, limit: 10) == [StoreFixtures.at(1)])
            #expect(try await reopened.apiKey(sha256: key.sha256) == key)
            #expect(try await reopened.appliedMigrations() == SQLStoreMigration.all.map(\.version))
        } catch {
            await database.destroy(reopened)
            throw error
        }
        await database.destroy(reopened)
    }

    @Test("events of several verifications since an instant, oldest first (SSE across nodes)", arguments: storeBackends)
    func eventsOfSeveralSince(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let a = StoreFixtures.verification(to: "+886975000001")
            let b = StoreFixtures.verification(to: "+886975000002")
            let c = StoreFixtures.verification(to: "+886975000003")
            for v in [a, b, c] { #expect(try await store.insert(v, event: StoreFixtures.created(v))) }
            let approvedA = StoreFixtures.next(a, status: .approved, at: 30)
            #expect(try await store.update(approvedA, event: StoreFixtures.event(approvedA, .approved), webhook: nil))
            let sentB = StoreFixtures.next(b, at: 20)
            #expect(try await store.update(sentB, event: StoreFixtures.event(sentB, .sent, detail: "sms"), webhook: nil))
            let approvedC = StoreFixtures.next(c, status: .approved, at: 25)
            #expect(try await store.update(approvedC, event: StoreFixtures.event(approvedC, .approved), webhook: nil))

            let recent = try await store.events(verificationIDs: [a.id, b.id], since: StoreFixtures.at(20))
            #expect(recent.map(\.verificationID) == [b.id, a.id])
            #expect(recent.map(\.kind) == [.sent, .approved])
            #expect(recent.first?.detail == "sms")
            #expect(try await store.events(verificationIDs: [a.id, b.id, c.id], since: StoreFixtures.at(0)).count == 6)
            #expect(try await store.events(verificationIDs: [], since: StoreFixtures.at(0)).isEmpty)
        }
    }

    @Test("the audit table holds what happened and when, never a code or its MAC", arguments: storeBackends)
    func auditHasNoCode(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let code = "493817"
            var v = StoreFixtures.verification()
            v.codeMAC = CodeHasher(secret: Array(repeating: 0x42, count: 32)).mac(id: v.id, code: code)
            #expect(try await store.insert(v, event: StoreFixtures.created(v)))
            var failed = StoreFixtures.next(v, at: 20)
            failed.checkAttempts = 1
            #expect(try await store.update(failed, event: StoreFixtures.event(failed, .checkFailed, detail: "wrong code"), webhook: nil))
            let approved = StoreFixtures.next(failed, status: .approved, at: 30)
            #expect(try await store.update(approved, event: StoreFixtures.event(approved, .approved), webhook: nil))

            let macHex = (v.codeMAC ?? []).map { String(format: "%02x", $0) }.joined()
            let rows = try await store.withRawDatabase { try await $0.raw("SELECT * FROM audit_events ORDER BY id").all() }
            #expect(rows.count == 3)
            for row in rows {
                #expect(Set(row.allColumns) == ["id", "verification_id", "kind", "status", "at", "detail"])
                let texts = try ["verification_id", "kind", "status", "detail"].compactMap { try row.decode(column: $0, as: String?.self) }
                for text in texts {
                    #expect(!text.contains(code))
                    #expect(!text.lowercased().contains(macHex))
                }
            }
            #expect(try await store.events(verificationID: v.id).map(\.kind) == [.created, .checkFailed, .approved])
            // The MAC is kept only where it belongs, as bytes.
            #expect(try await store.verification(id: v.id)?.codeMAC == v.codeMAC)
        }
    }
}
