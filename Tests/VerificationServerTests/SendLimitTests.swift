import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import Testing
import Verification
@testable import VerificationServer

// Issue 12 items 3 and 4: the send limits hold under concurrency, the velocity guards (per
// prefix, per channel) hold across nodes sharing the store, and channels reach only the allowed
// line types. Each test performs the attack over HTTP against the core, on SQLite and (under
// scripts/with-postgres.sh, or CI=true) PostgreSQL.

/// A core on a fresh SQL database of `backend`, for HTTP tests of the send limits; `nodes` cores
/// share the database, each through its own store (as nodes do).
struct SendLimitCores {
    let cores: [Core]
    let key: String
    let stores: [SQLVerificationStore]

    var auth: HTTPFields { [.authorization: "Bearer \(key)", .contentType: "application/json"] }

    static func with(
        _ backend: SQLStoreBackend, nodes: Int = 1, log: RecordedLog? = nil, clock: any VerificationClock = SystemClock(),
        configure: (inout CoreConfiguration) -> Void = { _ in }, _ body: (SendLimitCores) async throws -> Void
    ) async throws {
        try await withTestStore(backend) { first, database in
            var stores = [first]
            for _ in 1..<max(1, nodes) { stores.append(try await database.open()) }
            var config = CoreConfiguration()
            config.policy = VerificationPolicy(systemNumbers: ["+886229996666"])
            config.policy.limits.perClientIPPerMinute = 0
            config.policy.limits.perAPIKeyPerMinute = 0
            configure(&config)
            var logger = log.map { log in Logger(label: "send-limit-tests") { _ in log } } ?? Logger(label: "send-limit-tests")
            logger.logLevel = log == nil ? .critical : .info
            let cores = stores.map { Core(configuration: config, store: $0, secret: Array(repeating: 9, count: 32), logger: logger, clock: clock) }
            let key = try await cores[0].addAPIKey(name: "send limits")
            do {
                try await body(SendLimitCores(cores: cores, key: key, stores: stores))
            } catch {
                for store in stores.dropFirst() { try? await store.shutdown() }
                throw error
            }
            for store in stores.dropFirst() { try? await store.shutdown() }
        }
    }
}

/// A log handler that keeps every record (message and metadata as text), for tests of what is logged.
final class RecordedLog: LogHandler, @unchecked Sendable {
    // @unchecked Sendable: `records` is guarded by `lock`; the handler's own settings are set once.
    private let lock = NSLock()
    private var stored: [(message: String, metadata: [String: String])] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    var records: [(message: String, metadata: [String: String])] { lock.withLock { stored } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let fields = (metadata ?? [:]).mapValues { "\($0)" }
        lock.withLock { stored.append((message.description, fields)) }
    }
}

/// Fires `count` POSTs of `body` to `uri` at once and returns their statuses. The route is a
/// parameter so the same attack runs against the hosted page's resend and the API's.
func concurrentPosts(_ client: some TestClientProtocol, uri: String, headers: HTTPFields, body: String, count: Int) async throws -> [HTTPResponse.Status] {
    try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
        for _ in 0..<count {
            group.addTask {
                try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) { $0.status }
            }
        }
        return try await group.reduce(into: []) { $0.append($1) }
    }
}

@Suite("Send limits and guards")
struct SendLimitTests {
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// Starts a hosted sms verification; returns its id and its page path.
    static func hostedStart(_ client: some TestClientProtocol, _ t: SendLimitCores, to: String) async throws -> (id: String, page: String) {
        try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                 body: ByteBuffer(string: #"{"to":"\#(to)","channel":"sms","hosted":true}"#)) { r in
            #expect(r.status == .created, "\(String(buffer: r.body))")
            let url = try #require(r.body.json["url"] as? String)
            return (try #require(r.body.json["id"] as? String), try #require(URLComponents(string: url)?.path))
        }
    }

    @Test("60 concurrent resends through the hosted page send the code at most 5 times; the rest get 429", arguments: storeBackends)
    func concurrentPageResends(backend: SQLStoreBackend) async throws {
        try await SendLimitCores.with(backend, configure: { $0.policy.limits.resendInterval = 0 }) { t in
            let core = t.cores[0]
            try await Application(router: core.router()).test(.router) { client in
                let (id, page) = try await Self.hostedStart(client, t, to: "0975000888")
                let statuses = try await concurrentPosts(client, uri: page + "/send", headers: Self.form, body: "channel=sms&lang=en", count: 60)
                let resent = statuses.filter { $0 == .seeOther }.count
                #expect(resent == 4, "the start's send plus 4 resends make the 5 allowed: \(statuses)")
                #expect(statuses.filter { $0 == .tooManyRequests }.count == 60 - resent, "\(statuses)")
                #expect(core.sms.outbox.filter { $0.verificationID == id }.count == 5)
                let v = try await core.service.verification(id: id)
                #expect(v.sendCount == 5)
                #expect(try await t.stores[0].sends(to: "+886975000888", since: .distantPast, limit: 100).count == 5)
            }
        }
    }

    @Test("60 concurrent resends through POST /v1/verifications/{id}/resend send the code at most 5 times; the rest get 429", arguments: storeBackends)
    func concurrentAPIResends(backend: SQLStoreBackend) async throws {
        try await SendLimitCores.with(backend, configure: { $0.policy.limits.resendInterval = 0 }) { t in
            let core = t.cores[0]
            try await Application(router: core.router()).test(.router) { client in
                let (id, _) = try await Self.hostedStart(client, t, to: "0975000888")
                let statuses = try await concurrentPosts(client, uri: "/v1/verifications/\(id)/resend", headers: t.auth, body: "", count: 60)
                let resent = statuses.filter { $0 == .ok }.count
                #expect(resent == 4, "the start's send plus 4 resends make the 5 allowed: \(statuses)")
                #expect(statuses.filter { $0 == .tooManyRequests }.count == 60 - resent, "\(statuses)")
                #expect(core.sms.outbox.filter { $0.verificationID == id }.count == 5)
                #expect(try await core.service.verification(id: id).sendCount == 5)
                #expect(try await t.stores[0].sends(to: "+886975000888", since: .distantPast, limit: 100).count == 5)
            }
        }
    }

    @Test("60 concurrent resends through the service: 5 sends, the rest refused by sends_per_number", arguments: storeBackends)
    func concurrentServiceResends(backend: SQLStoreBackend) async throws {
        try await SendLimitCores.with(backend, configure: { $0.policy.limits.resendInterval = 0 }) { t in
            let service = t.cores[0].service
            let first = try await service.start(StartRequest(to: "0975000777", channel: .sms))
            let results = await withTaskGroup(of: Result<StartResult, any Error>.self) { group in
                for _ in 0..<60 {
                    group.addTask {
                        do { return .success(try await service.resend(id: first.verification.id)) } catch { return .failure(error) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            var resent = 0, refused = 0
            for result in results {
                switch result {
                case .success(let r):
                    #expect(r.resent && r.verification.id == first.verification.id)
                    resent += 1
                case .failure(let error):
                    guard case .rateLimited(.sendsPerNumber, _)? = error as? VerificationError else {
                        Issue.record("not the per-number limit: \(error)")
                        continue
                    }
                    refused += 1
                }
            }
            #expect(resent == 4 && refused == 56)
            #expect(t.cores[0].sms.outbox.filter { $0.verificationID == first.verification.id }.count == 5)
            #expect(try await service.verification(id: first.verification.id).sendCount == 5)
        }
    }

    /// `outcome` is a refusal by `limit` with a wait of `after` seconds (to the millisecond).
    static func refused(_ outcome: SendReservationOutcome, _ limit: VerificationError.RateLimit, after: Double) -> Bool {
        guard case .refused(let l, let wait) = outcome else { return false }
        return l == limit && abs(wait - after) < 0.001
    }

    @Test("store: concurrent reservations for one number, prefix or channel pass each limit exactly", arguments: storeBackends)
    func concurrentReservations(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            let now = StoreFixtures.at(100)
            // Each reservation updates a verification of its own: no version conflict, only the limits decide.
            func race(_ count: Int, guards: SendGuards, number: (Int) -> String, prefix: (Int) -> String) async throws -> [SendReservationOutcome] {
                var pending: [(Verification, SendReservation)] = []
                for i in 0..<count {
                    var v = StoreFixtures.verification(to: number(i))
                    v.status = .canceled
                    #expect(try await store.insert(v, event: StoreFixtures.created(v)))
                    pending.append((v, SendReservation(verificationID: v.id, to: v.to, channel: .sms, prefix: prefix(i), at: now)))
                }
                return try await withThrowingTaskGroup(of: SendReservationOutcome.self) { group in
                    for (v, send) in pending {
                        group.addTask {
                            let next = StoreFixtures.next(v, status: .canceled)
                            return try await store.reserveSend(.update(next), events: [StoreFixtures.event(next, .sent)], send: send, guards: guards)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let perNumber = try await race(60, guards: SendGuards(maxPerNumber: 5, numberWindow: 600), number: { _ in "+886975111111" }, prefix: { _ in "+886975111" })
            #expect(perNumber.filter { $0 == .reserved }.count == 5)
            #expect(perNumber.allSatisfy { $0 == .reserved || Self.refused($0, .sendsPerNumber, after: 600) })
            let perPrefix = try await race(60, guards: SendGuards(maxPerNumber: 5, numberWindow: 600, maxPerPrefix: 7),
                                           number: { "+886975222\(String(format: "%03d", $0))" }, prefix: { _ in "+886975222" })
            #expect(perPrefix.filter { $0 == .reserved }.count == 7)
            #expect(perPrefix.allSatisfy { $0 == .reserved || Self.refused($0, .sendsPerPrefix, after: 3_600) })
            // 12 sms sends so far; the channel budget of 20 leaves 8 more across prefixes.
            let perChannel = try await race(60, guards: SendGuards(maxPerNumber: 5, numberWindow: 600, maxPerPrefix: 7, maxPerChannel: 20),
                                            number: { "+8869753\(String(format: "%05d", $0))" }, prefix: { "+8869753\(String(format: "%05d", $0))" })
            #expect(perChannel.filter { $0 == .reserved }.count == 8)
            #expect(perChannel.allSatisfy { $0 == .reserved || Self.refused($0, .sendsPerChannel, after: 3_600) })
        }
    }

    @Test("a database from before migration 5 upgrades; its old sends count for the per-number limit only", arguments: storeBackends)
    func upgradeKeepsOldSends(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, database: TestDatabase) async throws in
            // Back to the schema of version 3 (the sends table without channel and prefix) ...
            try await store.withRawDatabase { db in
                for statement in ["DROP INDEX sends_prefix_at", "DROP INDEX sends_channel_at", "ALTER TABLE sends DROP COLUMN channel",
                                  "ALTER TABLE sends DROP COLUMN prefix", "DELETE FROM schema_migrations WHERE version = 5"] {
                    try await db.raw(SQLQueryString(statement)).run()
                }
            }
            // ... with five sends to one number recorded the old way.
            for i in 0..<5 { try await store.recordSend(to: "+886975000888", verificationID: "VEold", at: StoreFixtures.at(Double(i))) }
            let upgraded = try await database.open()
            #expect(try await upgraded.appliedMigrations().contains(5))
            let guards = SendGuards(maxPerNumber: 5, numberWindow: 600, maxPerPrefix: 1, maxPerChannel: 1)
            func reserve(_ to: String) async throws -> SendReservationOutcome {
                let v = StoreFixtures.verification(to: to)
                return try await upgraded.reserveSend(.insert(v), events: [StoreFixtures.created(v)],
                                                      send: SendReservation(verificationID: v.id, to: to, channel: .sms, prefix: "+886975000", at: StoreFixtures.at(10)),
                                                      guards: guards)
            }
            #expect(Self.refused(try await reserve("+886975000888"), .sendsPerNumber, after: 590))
            #expect(try await reserve("+886975000777") == .reserved, "old sends have no prefix or channel")
            #expect(Self.refused(try await reserve("+886975000666"), .sendsPerPrefix, after: 3_600))
            try await upgraded.shutdown()
        }
    }

    @Test("a pumping run over one number prefix is cut off at sends_per_prefix: 429 naming the guard, logged, counted")
    func pumpingOnePrefix() async throws {
        let log = RecordedLog()
        // Time stands still for the run, so the guard's wait is exactly the hour, however slow the machine.
        try await SendLimitCores.with(.sqlite, log: log, clock: StoppedClock(), configure: { $0.policy.limits.maxSendsPerPrefix = 10 }) { t in
            let core = t.cores[0]
            try await Application(router: core.router()).test(.router) { client in
                var created = 0
                for i in 0..<30 {
                    try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                             body: ByteBuffer(string: #"{"to":"0975000\#(String(format: "%03d", i))","channel":"sms"}"#)) { r in
                        if r.status == .created { created += 1; return }
                        #expect(r.status == .tooManyRequests)
                        #expect(r.body.json["code"] as? String == "rate_limited")
                        #expect(r.body.json["limit"] as? String == "sends_per_prefix")
                        let wait = try #require(r.headers[.retryAfter].flatMap(Int.init))
                        #expect(wait == 3_600)
                    }
                }
                #expect(created == 10)
                #expect(core.sms.outbox.count == 10, "no refused start sent anything")
                // Another prefix is not affected.
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                         body: ByteBuffer(string: #"{"to":"0975001000","channel":"sms"}"#)) { r in
                    #expect(r.status == .created)
                }
                try await client.execute(uri: "/metrics", method: .get) { r in
                    #expect(String(buffer: r.body).contains(#"verigate_send_guard_refusals_total{guard="sends_per_prefix"} 20"#))
                }
            }
        }
        // One warning per refusal, naming the guard and the prefix, never the whole number.
        let refusals = log.records.filter { $0.message == "verification.send_refused" }
        #expect(refusals.count == 20)
        #expect(refusals.allSatisfy { $0.metadata["guard"] == "sends_per_prefix" && $0.metadata["prefix"] == "+886975000" && $0.metadata["channel"] == "sms" })
        #expect(!refusals.contains { $0.metadata.values.contains { $0.contains("+8869750000") } })
    }

    @Test("a pumping run across prefixes is cut off at the channel's hourly budget")
    func pumpingAcrossPrefixes() async throws {
        try await SendLimitCores.with(.sqlite, configure: { $0.policy.limits.maxSendsPerChannel = [.sms: 8, .voiceCall: 500] }) { t in
            let core = t.cores[0]
            try await Application(router: core.router()).test(.router) { client in
                var created = 0
                for i in 0..<20 {
                    // 0975 1xx 000: a new 6-digit prefix every time.
                    try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                             body: ByteBuffer(string: #"{"to":"09751\#(String(format: "%02d", i))000","channel":"sms"}"#)) { r in
                        if r.status == .created { created += 1; return }
                        #expect(r.status == .tooManyRequests)
                        #expect(r.body.json["limit"] as? String == "sends_per_channel")
                        #expect(r.headers[.retryAfter] != nil)
                    }
                }
                #expect(created == 8)
                try await client.execute(uri: "/metrics", method: .get) { r in
                    #expect(String(buffer: r.body).contains(#"verigate_send_guard_refusals_total{guard="sends_per_channel"} 12"#))
                }
            }
        }
    }

    @Test("two nodes on one store share the prefix count", arguments: storeBackends)
    func nodesShareTheGuard(backend: SQLStoreBackend) async throws {
        try await SendLimitCores.with(backend, nodes: 2, configure: { $0.policy.limits.maxSendsPerPrefix = 6 }) { t in
            let apps = t.cores.map { Application(router: $0.router()) }
            try await apps[0].test(.router) { a in
                try await apps[1].test(.router) { b in
                    var created = 0
                    for i in 0..<16 {
                        let client: any TestClientProtocol = i.isMultiple(of: 2) ? a : b
                        created += try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                                            body: ByteBuffer(string: #"{"to":"0975000\#(String(format: "%03d", i))","channel":"sms"}"#)) { r in
                            if r.status == .created { return 1 }
                            #expect(r.status == .tooManyRequests && r.body.json["limit"] as? String == "sends_per_prefix")
                            return 0
                        }
                    }
                    #expect(created == 6)
                    #expect(t.cores.map { $0.sms.outbox.count } == [3, 3])
                }
            }
        }
    }

    @Test("premium-rate, toll-free and UAN numbers are refused for sms and calls; mobiles pass; call-in takes any line type")
    func lineTypes() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            // Numbers libphonenumber classifies (its TW example numbers): premium rate, toll free, UAN.
            for (number, channel, type) in [("+886203123456", "sms", "premium_rate"), ("+886203123456", "voice_call", "premium_rate"),
                                            ("+886800123456", "voice_call", "toll_free"), ("+886800123456", "sms", "toll_free"),
                                            ("+886500123456", "dtmf_callout", "uan")] {
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                         body: ByteBuffer(string: #"{"to":"\#(number)","channel":"\#(channel)"}"#)) { r in
                    #expect(r.status == .badRequest, "\(number) \(channel)")
                    #expect(r.body.json["code"] as? String == "number_type_not_allowed")
                    #expect((r.body.json["detail"] as? String)?.contains(type) == true)
                }
            }
            #expect(t.core.sms.outbox.isEmpty)
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                     body: ByteBuffer(string: #"{"to":"+886912345678","channel":"sms"}"#)) { r in
                #expect(r.status == .created)
            }
            // The call-in methods prove the caller's own number: no line-type refusal (no gateway here: 503).
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                     body: ByteBuffer(string: #"{"to":"+886203123456","channel":"missed_call"}"#)) { r in
                #expect(r.body.json["code"] as? String != "number_type_not_allowed")
            }
            // The hosted page says it in the user's language.
            try await client.execute(uri: "/demo", method: .post, headers: Self.form, body: ByteBuffer(string: "to=%2B886800123456&channel=voice_call&lang=en")) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("This kind of number cannot be verified this way"))
            }
        }
    }

    @Test("--line-types lets an operator allow a type for one channel")
    func configuredLineTypes() async throws {
        let t = try await TestCore { $0.policy.allowedLineTypes = try! VerificationPolicy.parseLineTypes("sms=mobile,toll_free") }
        try await t.app().test(.router) { client in
            // Toll free is now allowed for sms; it still cannot receive SMS, which is the next check.
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                     body: ByteBuffer(string: #"{"to":"+886800123456","channel":"sms"}"#)) { r in
                #expect(r.body.json["code"] as? String == "number_cannot_receive_sms")
            }
            // voice_call keeps its default.
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                     body: ByteBuffer(string: #"{"to":"+886800123456","channel":"voice_call"}"#)) { r in
                #expect(r.body.json["code"] as? String == "number_type_not_allowed")
            }
        }
    }

    @Test("line types and channel budgets parse strictly")
    func parsing() throws {
        let types = try VerificationPolicy.parseLineTypes("sms=mobile,fixed_line_or_mobile; voice_call=any")
        #expect(types[.sms] == [.mobile, .fixedLineOrMobile])
        #expect(types[.voiceCall]?.contains(.premiumRate) == true)
        for bad in ["sms", "sms=", "sms=mobile,", "sms=cellphone", "fax=mobile", "sms=mobile;sms=fixed_line"] {
            #expect(throws: ConfigurationProblem.self, "\(bad)") { try VerificationPolicy.parseLineTypes(bad) }
        }
        let defaults = VerificationLimits.defaultChannelBudgets
        #expect(try VerificationPolicy.parseChannelBudgets("", defaults: defaults) == defaults)
        #expect(try VerificationPolicy.parseChannelBudgets("200", defaults: defaults) == [.sms: 200, .voiceCall: 200, .dtmfCallOut: 200])
        #expect(try VerificationPolicy.parseChannelBudgets("sms=0;voice_call=7", defaults: defaults)
            == [.sms: 0, .voiceCall: 7, .dtmfCallOut: 500])
        for bad in ["-1", "sms=-1", "sms=x", "missed_call=5", "sms", "mms=5"] {
            #expect(throws: ConfigurationProblem.self, "\(bad)") { try VerificationPolicy.parseChannelBudgets(bad, defaults: defaults) }
        }
        let n = try PhoneNumber(parsing: "0975000888", defaultRegion: "TW")
        #expect(n.prefix(length: 6) == "+886975000")
        #expect(n.prefix(length: 12) == "+886975000888")
    }
}

/// A clock that never moves from the whole second it was made in (whole, so the store's microsecond
/// times hold it exactly and a wait is a whole number of seconds).
struct StoppedClock: VerificationClock {
    let date = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    func now() -> Date { date }
}
