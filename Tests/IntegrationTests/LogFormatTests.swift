import Foundation
import Testing
import TestSupport

/// Issue 16: `--log-format json` (`VERIGATE_LOG_FORMAT`) writes every log event of `serve`, `core`
/// and `gateway` as one JSON object a line: time, level, event name, source, metadata.
@Suite("verigate --log-format json: one JSON object a line", .timeLimit(.minutes(3)))
struct LogFormatTests {
    /// The output's lines parsed as JSON objects; a line that is not one is recorded as an issue
    /// unless it contains one of `plain` (what verigate prints for people besides its log).
    static func objects(_ output: String, plain: [String]) -> [[String: Any]] {
        output.split(separator: "\n").compactMap { line in
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] { return object }
            if !plain.contains(where: { line.contains($0) }) { Issue.record("not a JSON log line: \(line)") }
            return nil
        }
    }

    @Test("serve --log-format json: every log line is an object with time, level, event and metadata; core.serving, gateway.prompts and gateway.hello among them")
    func serve() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        let work = try PromptsLocationTests.temporaryDirectory("log-json")
        defer { try? FileManager.default.removeItem(at: work) }
        let server = try await PeerProcess(verigate, [
            "serve", "--log-format", "json", "--http-address", "127.0.0.1:0", "--sip-address", "127.0.0.1:\(try Peers.freePort())",
            "--data-dir", work.appendingPathComponent("data").path, "--prompts", Peers.repository.appendingPathComponent("prompts").path,
        ], name: "serve-json")
        let up = try await eventuallyTrue { !server.lines("gateway.hello").isEmpty || !server.process.isRunning }
        let output = (try? String(contentsOf: server.log, encoding: .utf8)) ?? ""
        await server.stop()
        #expect(up, "\(output)")
        let objects = Self.objects(output, plain: ["Created API key (shown once, keep it): "])
        for object in objects {
            #expect(object["time"] is String && object["level"] is String && object["event"] is String && object["metadata"] is [String: Any], "\(object)")
        }
        func event(_ name: String) -> [String: Any]? { objects.first { $0["event"] as? String == name } }
        let serving = try #require(event("core.serving"), "\(output)")
        #expect(serving["level"] as? String == "info")
        #expect((serving["metadata"] as? [String: Any])?["mode"] as? String == "dev", "\(serving)")
        #expect((event("gateway.prompts")?["metadata"] as? [String: Any])?["locales"] as? String == "en,zh-TW", "\(output)")
        #expect(((event("gateway.hello")?["metadata"] as? [String: Any])?["channels"] as? String)?.contains("dtmf_callin") == true, "\(output)")
    }

    @Test("gateway --log-format json refusing its prompts: a critical configuration.refused object and the line for people; VERIGATE_LOG_FORMAT=xml is refused with 78")
    func refusals() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        let work = try PromptsLocationTests.temporaryDirectory("log-json-refused")
        defer { try? FileManager.default.removeItem(at: work) }
        let (status, output) = try await PromptsLocationTests.run(
            verigate, ["gateway", "--log-format", "json", "--core-socket", work.appendingPathComponent("none.sock").path, "--prompts", "nowhere"],
            in: work, name: "gateway-json")
        #expect(status == 78, "\(output)")
        let refused = Self.objects(output, plain: ["verigate: prompts folder "]).first { $0["event"] as? String == "configuration.refused" }
        #expect(refused?["level"] as? String == "critical", "\(output)")
        #expect(((refused?["metadata"] as? [String: Any])?["error"] as? String)?.contains(work.appendingPathComponent("nowhere").path) == true, "\(output)")

        try await CommandLineConfigurationTests.expectRefused([
            (CommandLineConfigurationTests.core, ["VERIGATE_LOG_FORMAT": "xml"], "The value 'xml' is invalid for VERIGATE_LOG_FORMAT: must be text or json"),
        ])
    }
}
