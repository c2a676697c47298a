import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization
import Testing
import TestSupport

/// Issue 15: nothing answered is lost under a kill. `verigate serve` (dev mode, limits off) on
/// SQLite and on PostgreSQL (scripts/with-postgres.sh; fails under CI=true without it) gets a few
/// hundred sms verifications, their codes read from the dev outbox; checks go in concurrently (most
/// with the right code, every fifth with a wrong one) and the server is SIGKILLed the moment the
/// M-th `approved` answer has arrived, with checks still in flight. Started again on the same data,
/// every verification whose check was answered `approved` reads `approved`, every one never
/// checked reads `pending` with no attempt, and every answered wrong code shows its attempt; the
/// checks in flight at the kill may land either way. Only the binary is used, never the store's
/// own code, so it holds whatever the write path does (group commit included).
@Suite("SIGKILL in the middle of a check load", .serialized, .timeLimit(.minutes(3)))
struct KillDurabilityTests {
    enum Backend: String, CaseIterable, CustomStringConvertible, Sendable {
        case sqlite, postgres
        var description: String { rawValue }
    }

    /// Verifications started, checks in flight at once, and the `approved` answer that kills.
    static let verifications = 300
    static let concurrency = 24
    static let killAt = 120

    @Test("SIGKILL after the M-th approved answer: answered approvals survive, unchecked stay pending, answered wrong codes keep their attempt", arguments: Backend.allCases)
    func killMidChecks(backend: Backend) async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        var storeArguments: [String] = []
        if backend == .postgres {
            guard let database = MultiNodeTests.database() else { return }
            storeArguments = ["--database-url", database, "--postgres-schema", MultiNodeTests.freshSchema("kill")]
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-kill-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = Server(verigate: verigate, directory: directory, storeArguments: storeArguments)

        let (first, firstBase) = try await server.start(name: "kill-\(backend)-1")
        var running = [first]
        defer { for process in running where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) } }
        let keyLine = try await eventuallyTrue { first.lines("keep it): ").last != nil }
        #expect(keyLine, "no API key printed: \(first.tail())")
        let key = try #require(first.lines("keep it): ").last?.components(separatedBy: "keep it): ").last?.trimmingCharacters(in: .whitespaces))
        let api = API(key: key)

        let items = try await Self.prepare(api: api, base: firstBase, count: Self.verifications)
        let load = Load(items: items)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.concurrency {
                group.addTask { await load.work(api: api, base: firstBase, killAt: Self.killAt) { first.process.signal(SIGKILL) } }
            }
        }
        let exit = await first.exitStatus()
        let state = load.state.withLock { $0 }
        #expect(state.approved >= Self.killAt, "only \(state.approved) approved answers: \(first.tail())")
        #expect(exit == SIGKILL, "the server ended with \(exit), not by the SIGKILL: \(first.tail())")
        #expect((state.inFlightAtKill ?? 0) > 0, "no check was in flight at the kill")

        // The same data, a new process.
        let (second, secondBase) = try await server.start(name: "kill-\(backend)-2")
        running.append(second)
        let read = try await Self.read(api: api, base: secondBase, ids: items.map(\.id))
        var (approvedAnswers, wrongAnswers, untouched, landed) = (0, 0, 0, 0)
        for (index, item) in items.enumerated() {
            let now = read[index]
            switch state.outcomes[index] {
            case .untaken:
                #expect(now.status == "pending" && now.attempts == 0, "\(item.id), never checked, reads \(now)")
                untouched += 1
            case .answered(let status, let answered, let valid):
                #expect(status == 200, "\(item.id): check answered \(status)")
                if item.right {
                    #expect(answered == "approved" && valid == true, "\(item.id): the right code was answered \(answered ?? "-"), valid \(valid.map { "\($0)" } ?? "-")")
                }
                if answered == "approved" {
                    #expect(now.status == "approved", "\(item.id) was answered approved before the kill but reads \(now) after it")
                    approvedAnswers += 1
                } else if status == 200, valid == false {
                    #expect(now.attempts == 1 && now.status == "pending", "\(item.id): a wrong code was answered, but it reads \(now) after the kill")
                    wrongAnswers += 1
                }
            case .inFlight, .unanswered:
                // Sent, no answer: it may have landed or not, but a right code can only approve.
                #expect(now.status == (item.right ? "approved" : "pending") || (now.status == "pending" && now.attempts == 0), "\(item.id): \(now)")
                landed += now.status == "approved" || now.attempts > 0 ? 1 : 0
            }
        }
        print("KillDurabilityTests \(backend): \(approvedAnswers) approved answers, \(wrongAnswers) wrong answers, \(untouched) never checked, "
              + "\(state.inFlightAtKill ?? 0) in flight at the kill (\(landed) of them landed)")
        // Each kind was there to be lost.
        #expect(approvedAnswers >= Self.killAt && wrongAnswers > 0 && untouched > 0,
                "approved answers \(approvedAnswers), wrong answers \(wrongAnswers), never checked \(untouched), unanswered that landed \(landed)")
        await first.stop()
        await second.stop()
    }

    /// Starts `count` sms verifications and reads their codes from the dev outbox (which keeps the
    /// last 200 messages, so it is read every 100 starts); every fifth gets a wrong code to check.
    static func prepare(api: API, base: String, count: Int) async throws -> [Item] {
        var items: [Item] = []
        var batch: [String] = []
        for index in 0..<count {
            let (status, data) = try await api.request("POST", base + "/v1/verifications", body: #"{"to":"+88697\#(String(format: "%07d", index))","channel":"sms"}"#)
            let id = try #require((try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["id"] as? String,
                                  "start \(index): HTTP \(status) \(String(decoding: data, as: UTF8.self))")
            batch.append(id)
            guard batch.count == 100 || index == count - 1 else { continue }
            let outbox = try JSONSerialization.jsonObject(with: try await api.request("GET", base + "/dev/outbox").1) as? [[String: Any]] ?? []
            var texts: [String: String] = [:]
            for message in outbox { if let id = message["verification_id"] as? String { texts[id] = message["text"] as? String } }
            for id in batch {
                let text = try #require(texts[id], "\(id) is not in the outbox")
                let code = try #require(text.split(whereSeparator: { !$0.isNumber }).map(String.init).first { $0.count == 6 }, "no code in \(text)")
                let right = items.count % 5 != 4
                // A wrong code: the last digit changed.
                let wrong = code.dropLast() + String((Int(String(code.last!))! + 1) % 10)
                items.append(Item(id: id, code: right ? code : String(wrong), right: right))
            }
            batch = []
        }
        return items
    }

    /// Each verification's status and attempts, `concurrency` reads at a time.
    static func read(api: API, base: String, ids: [String]) async throws -> [Reading] {
        try await withThrowingTaskGroup(of: [(Int, Reading)].self) { group in
            for lane in 0..<Self.concurrency {
                group.addTask {
                    var readings: [(Int, Reading)] = []
                    for index in stride(from: lane, to: ids.count, by: Self.concurrency) {
                        let (status, data) = try await api.request("GET", base + "/v1/verifications/\(ids[index])")
                        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                        readings.append((index, Reading(http: status, status: object?["status"] as? String ?? "-", attempts: object?["check_attempts"] as? Int ?? -1)))
                    }
                    return readings
                }
            }
            var all = [Reading](repeating: Reading(http: 0, status: "-", attempts: -1), count: ids.count)
            for try await readings in group { for (index, reading) in readings { all[index] = reading } }
            return all
        }
    }

    /// A verification to check: the code sent, or a wrong one.
    struct Item: Sendable {
        let id: String
        let code: String
        let right: Bool
    }

    /// A verification read back after the restart.
    struct Reading: Sendable, CustomStringConvertible {
        let http: Int
        let status: String
        let attempts: Int
        var description: String { "HTTP \(http) \(status), \(attempts) attempts" }
    }

    /// What became of one verification's check.
    enum Outcome: Sendable {
        /// Never sent.
        case untaken
        /// Sent, no answer yet.
        case inFlight
        /// Sent; the request failed without an answer (the server was gone).
        case unanswered
        /// Answered: the HTTP status, the verification's `status` and the check's `valid`.
        case answered(Int, String?, Bool?)
    }

    /// The checks: workers take the next verification, check it and record the answer; the one
    /// that records the `killAt`-th approval kills the server, and no worker takes another after.
    final class Load: Sendable {
        struct State: Sendable {
            var next = 0
            var outcomes: [Outcome]
            var approved = 0
            var killed = false
            var inFlightAtKill: Int?
        }

        let items: [Item]
        let state: Mutex<State>

        init(items: [Item]) {
            self.items = items
            state = Mutex(State(outcomes: Array(repeating: .untaken, count: items.count)))
        }

        func work(api: API, base: String, killAt: Int, kill: () -> Void) async {
            while true {
                let taken: Int? = state.withLock { state in
                    guard !state.killed, state.next < items.count else { return nil }
                    defer { state.next += 1 }
                    state.outcomes[state.next] = .inFlight
                    return state.next
                }
                guard let index = taken else { return }
                let item = items[index]
                let answer = try? await api.request("POST", base + "/v1/verifications/\(item.id)/checks", body: #"{"code":"\#(item.code)"}"#)
                let object = answer.flatMap { try? JSONSerialization.jsonObject(with: $0.1) as? [String: Any] }
                let killNow = state.withLock { state -> Bool in
                    guard let answer else {
                        state.outcomes[index] = .unanswered
                        return false
                    }
                    let status = object?["status"] as? String
                    state.outcomes[index] = .answered(answer.0, status, object?["valid"] as? Bool)
                    guard answer.0 == 200, status == "approved" else { return false }
                    state.approved += 1
                    guard state.approved == killAt else { return false }
                    state.killed = true
                    state.inFlightAtKill = state.outcomes.count(where: { if case .inFlight = $0 { true } else { false } })
                    return true
                }
                if killNow { kill() }
            }
        }
    }

    /// API requests with the key, on a session that keeps as many connections as there are workers.
    struct API: Sendable {
        let key: String
        let session: URLSession

        init(key: String) {
            self.key = key
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = KillDurabilityTests.concurrency * 2
            configuration.timeoutIntervalForRequest = 60
            session = URLSession(configuration: configuration)
        }

        /// The HTTP status and body; throws when no answer came.
        func request(_ method: String, _ url: String, body: String? = nil) async throws -> (Int, Data) {
            var request = URLRequest(url: URL(string: url)!)
            request.httpMethod = method
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = body.map { Data($0.utf8) }
            let (data, response) = try await session.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        }
    }

    /// `verigate serve` without a SIP side, limits off, on the test's data folder and store.
    struct Server {
        let verigate: String
        let directory: URL
        let storeArguments: [String]

        /// Starts it on a free port and waits for its /healthz; the process and its base URL.
        func start(name: String) async throws -> (PeerProcess, String) {
            let port = try Peers.freePort()
            let process = try await PeerProcess(verigate, [
                "serve", "--sip-address", "off", "--data-dir", directory.path, "--http-address", "127.0.0.1:\(port)",
                "--demo", "off", "--log-level", "notice",
            ] + storeArguments, name: name, environment: [
                "VERIGATE_IP_RATE": "0", "VERIGATE_KEY_RATE": "0", "VERIGATE_CODE_TTL": "3600", "VERIGATE_MAX_SENDS": "100",
                "VERIGATE_PREFIX_SENDS_PER_HOUR": "0", "VERIGATE_CHANNEL_SENDS_PER_HOUR": "0",
            ])
            let base = "http://127.0.0.1:\(port)"
            let up = try await Peers.servesHealthz(base)
            #expect(up, "\(name) did not start: \(process.tail())")
            guard up else {
                await process.stop()
                throw StartFailed()
            }
            return (process, base)
        }
    }

    struct StartFailed: Error {}
}
