import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

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

    @Test("a page following a verification on node B sees node A's approval over SSE")
    func eventsAcrossNodes() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available("/usr/bin/curl", package: "curl") else { return }
        guard let database = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            if Peers.missingIsFailure { Issue.record("DATABASE_URL is not set: run under scripts/with-postgres.sh") }
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-nodes-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let secret = directory.appendingPathComponent("secret").path
        let keyMaker = try await PeerProcess(verigate, ["api-key", "--database-url", database, "--name", "multi-node test"], name: "api-key")
        #expect(await keyMaker.exitStatus() == 0, "\(keyMaker.tail())")
        let key = try #require(keyMaker.tail().split(separator: "\n").last { $0.hasPrefix("vg_") }.map(String.init), "\(keyMaker.tail())")
        await keyMaker.stop()

        func node(_ name: String) async throws -> (PeerProcess, String) {
            let port = try Peers.freeTCPPort()
            let process = try await PeerProcess(verigate, [
                "core", "--data-dir", directory.appendingPathComponent(name).path, "--database-url", database, "--secret-file", secret,
                "--http-address", "127.0.0.1:\(port)", "--gateway-socket", directory.appendingPathComponent("\(name).sock").path,
                "--demo", "off", "--log-level", "info",
            ], name: "node-\(name)")
            let base = "http://127.0.0.1:\(port)"
            // A loaded CI machine (every suite starts at once, each store test opening its own
            // pool) has taken over 30 s to bring a debug core up; its log says how far it got.
            let up = try await eventuallyTrue(within: .seconds(120)) {
                guard let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/healthz")!) else { return false }
                return (response as? HTTPURLResponse)?.statusCode == 200
            }
            #expect(up, "\(name): \(process.tail())")
            return (process, base)
        }
        // One after the other: the first creates the secret file the second reads.
        let (a, baseA) = try await node("a")
        let (b, baseB) = try await node("b")
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
}
