import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// Two `verigate core` processes on one PostgreSQL database (run under scripts/with-postgres.sh,
/// which sets DATABASE_URL), sharing the secret file: a page that follows a verification on node B
/// over SSE sees the approval that node A made, without anything passing between the nodes but
/// the database.
@Suite("two verigate core nodes on one PostgreSQL", .serialized)
struct MultiNodeTests {
    /// One API request; the status and the JSON body (an object, or an array for lists).
    static func request(_ method: String, _ url: String, key: String, body: String? = nil) async throws -> (Int, Any?) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = body.map { Data($0.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONSerialization.jsonObject(with: data))
    }

    /// The PostgreSQL database of scripts/with-postgres.sh; nil (a recorded failure under CI) without it.
    static func database() -> String? {
        guard let database = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            if Peers.missingIsFailure { Issue.record("DATABASE_URL is not set: run under scripts/with-postgres.sh") }
            return nil
        }
        return database
    }

    /// A deployment's nodes on one database: a temporary folder with the shared secret file, in
    /// `schema` when given (a fresh one per test, so tests sharing the server never share limits).
    struct Deployment {
        let verigate: String
        let database: String
        let schema: String?
        let directory: URL

        init(verigate: String, database: String, schema: String? = nil) throws {
            (self.verigate, self.database, self.schema) = (verigate, database, schema)
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-nodes-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        var storeArguments: [String] { ["--database-url", database] + (schema.map { ["--postgres-schema", $0] } ?? []) }

        /// A new API key of this deployment (`verigate api-key`).
        func apiKey() async throws -> String {
            let keyMaker = try await PeerProcess(verigate, ["api-key"] + storeArguments + ["--name", "multi-node test"], name: "api-key")
            #expect(await keyMaker.exitStatus() == 0, "\(keyMaker.tail())")
            defer { Task { await keyMaker.stop() } }
            return try #require(keyMaker.tail().split(separator: "\n").last { $0.hasPrefix("vg_") }.map(String.init), "\(keyMaker.tail())")
        }

        /// Starts core node `name` with `extra` options and waits for its /healthz; the process and its base URL.
        func node(_ name: String, _ extra: [String] = []) async throws -> (PeerProcess, String) {
            let port = try Peers.freePort()
            let process = try await PeerProcess(verigate, ["core", "--data-dir", directory.appendingPathComponent(name).path] + storeArguments + [
                "--secret-file", directory.appendingPathComponent("secret").path,
                "--http-address", "127.0.0.1:\(port)", "--gateway-socket", directory.appendingPathComponent("\(name).sock").path,
                "--demo", "off", "--log-level", "info",
            ] + extra, name: "node-\(name)")
            let base = "http://127.0.0.1:\(port)"
            let up = try await Peers.servesHealthz(base)
            #expect(up, "\(name): \(process.tail())")
            return (process, base)
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test("a page following a verification on node B sees node A's approval over SSE")
    func eventsAcrossNodes() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available("/usr/bin/curl", package: "curl"), let database = Self.database() else { return }
        let deployment = try Deployment(verigate: verigate, database: database)
        defer { deployment.remove() }
        let key = try await deployment.apiKey()
        // One after the other: the first creates the secret file the second reads.
        let (a, baseA) = try await deployment.node("a")
        let (b, baseB) = try await deployment.node("b")
        var curl: PeerProcess?
        defer {
            for process in [a, b] + (curl.map { [$0] } ?? []) where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
        }
        // 097x: mobile (libphonenumber calls 099x personal numbers, which sms does not reach by default).
        let number = "097" + String(format: "%07d", Int.random(in: 0..<10_000_000))
        let (status, created) = try await Self.request("POST", baseA + "/v1/verifications", key: key, body: #"{"to":"\#(number)","channel":"sms"}"#)
        #expect(status == 201, "\(created ?? "") \(a.tail())")
        let id = try #require((created as? [String: Any])?["id"] as? String)
        let messages = try await Self.request("GET", baseA + "/dev/outbox", key: key).1 as? [[String: Any]] ?? []
        let text = try #require(messages.last { $0["verification_id"] as? String == id }?["text"] as? String)
        let code = try #require(text.split(whereSeparator: { !$0.isNumber }).map(String.init).first { $0.count == 6 })

        // The page's stream on node B; it ends by itself at the final status.
        let stream = try await PeerProcess("/usr/bin/curl", [
            "-sN", "--max-time", "30", "-H", "Authorization: Bearer \(key)", baseB + "/v1/verifications/\(id)/events",
        ], name: "sse-b")
        curl = stream
        let subscribed = try await eventuallyTrue { stream.tail().contains(#""status":"pending""#) }
        #expect(subscribed, "curl: \(stream.tail())\nb: \(b.tail())")
        let (checked, result) = try await Self.request("POST", baseA + "/v1/verifications/\(id)/checks", key: key, body: #"{"code":"\#(code)"}"#)
        #expect(checked == 200 && (result as? [String: Any])?["status"] as? String == "approved", "\(result ?? "")")
        let exit = await stream.exitStatus()
        let seen = stream.tail()
        #expect(exit == 0, "curl exit \(exit) (28: no final status within 30 s): \(seen)")
        #expect(seen.components(separatedBy: #""event":"approved""#).count == 2, "node B's stream has A's approval once: \(seen)")
        for process in [a, b, stream] { await process.stop() }
    }

    /// A fresh schema name, so that tests on the shared server never share keys or limits.
    static func freshSchema(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }

    @Test("ATTACK: one client spreads its requests over two nodes: the per-IP start limit and the per-key limit hold for the pair, not per node")
    func limitsAcrossNodes() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), let database = Self.database() else { return }
        let deployment = try Deployment(verigate: verigate, database: database, schema: Self.freshSchema("limits"))
        defer { deployment.remove() }
        let key = try await deployment.apiKey()
        let (a, baseA) = try await deployment.node("a", ["--ip-rate", "4", "--key-rate", "9"])
        let (b, baseB) = try await deployment.node("b", ["--ip-rate", "4", "--key-rate", "9"])
        defer { for process in [a, b] where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) } }

        // Four starts from 127.0.0.1, alternating nodes: each node alone would allow four.
        var statuses: [Int] = []
        var codes: [String] = []
        for i in 0..<6 {
            let number = "097" + String(format: "%07d", Int.random(in: 0..<10_000_000))
            let (status, body) = try await Self.request("POST", (i % 2 == 0 ? baseA : baseB) + "/v1/verifications", key: key,
                                                        body: #"{"to":"\#(number)","channel":"sms"}"#)
            statuses.append(status)
            codes.append((body as? [String: Any])?["code"] as? String ?? "")
        }
        #expect(statuses == [201, 201, 201, 201, 429, 429], "\(statuses) \(codes)\na: \(a.tail())\nb: \(b.tail())")
        #expect(codes.suffix(2).allSatisfy { $0 == "rate_limited" }, "\(codes)")
        // The key has made 6 requests; 3 more are allowed in all, then both nodes refuse it.
        var reads: [Int] = []
        for i in 0..<5 {
            reads.append(try await Self.request("GET", (i % 2 == 0 ? baseB : baseA) + "/v1/verifications/VE" + String(repeating: "0", count: 32), key: key).0)
        }
        #expect(reads == [404, 404, 404, 429, 429], "\(reads)")
        for process in [a, b] { await process.stop() }
    }

    @Test("--postgres-schema: two deployments in one database share nothing, keys included; each node finds its tables in its schema")
    func schemasKeepDeploymentsApart() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), let database = Self.database() else { return }
        let first = try Deployment(verigate: verigate, database: database, schema: Self.freshSchema("tenant"))
        let second = try Deployment(verigate: verigate, database: database, schema: Self.freshSchema("tenant"))
        defer { first.remove(); second.remove() }
        let (firstKey, secondKey) = (try await first.apiKey(), try await second.apiKey())
        let (a, baseA) = try await first.node("a")
        let (b, baseB) = try await second.node("b")
        defer { for process in [a, b] where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) } }

        let number = "097" + String(format: "%07d", Int.random(in: 0..<10_000_000))
        let (status, created) = try await Self.request("POST", baseA + "/v1/verifications", key: firstKey, body: #"{"to":"\#(number)","channel":"sms"}"#)
        #expect(status == 201, "\(created ?? "") \(a.tail())")
        let id = try #require((created as? [String: Any])?["id"] as? String)
        #expect(try await Self.request("GET", baseA + "/v1/verifications/\(id)", key: firstKey).0 == 200)
        // The other deployment's node knows neither the key nor the verification.
        #expect(try await Self.request("GET", baseB + "/v1/verifications/\(id)", key: firstKey).0 == 401)
        #expect(try await Self.request("GET", baseB + "/v1/verifications/\(id)", key: secondKey).0 == 404)
        #expect(try await Self.request("GET", baseA + "/v1/verifications/\(id)", key: secondKey).0 == 401)
        for process in [a, b] { await process.stop() }
    }
}
