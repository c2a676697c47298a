import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The load-testing path of the README ("Load testing with SIPp"), run small: `verigate serve`,
/// scripts/sipp/inject.py starting dtmf_callin verifications through the API into an injection
/// file, and SIPp (sipp/callin-dtmf.xml) calling in and keying each code from that file.
@Suite("SIPp keyed call-ins from an injection file the API filled", .serialized)
struct SIPpInjectionTests {
    @Test("inject.py starts 8 dtmf_callin verifications; SIPp keys each code from the file; all 8 are approved")
    func keyedCallInsFromInjectionFile() async throws {
        guard let verigate = CoreGatewayApartTests.binary(), Peers.available("/usr/bin/sipp", package: "sip-tester"),
              Peers.available("/usr/bin/python3", package: "python3") else { return }
        let setup = try CoreGatewayApartTests.Setup(name: "inject", general: ["rtp_start = 61330", "rtp_end = 61430"])
        defer { setup.remove() }
        let (directory, httpPort, sipPort, conf) = (setup.directory, setup.httpPort, setup.sipPort, setup.conf)
        let server = try await PeerProcess(verigate, [
            "serve", "--data-dir", directory.path, "--http-address", "127.0.0.1:\(httpPort)", "--sip-config", conf.path,
            "--prompts", Peers.repository.appendingPathComponent("prompts").path, "--system-numbers", "+886229996666",
            "--demo", "off", "--ip-rate", "0", "--log-level", "warning",
        ], name: "serve-inject")
        func end() async {
            if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) }
            await server.stop()
        }
        do {
            let key = try await CoreGatewayApartTests.apiKey(server)
            // The gateway must be attached before dtmf_callin starts (no_gateway until then).
            _ = try await CoreGatewayApartTests.start(channel: "dtmf_callin", httpPort: httpPort, apiKey: key, core: server, gateway: server)

            let calls = directory.appendingPathComponent("calls.csv").path
            let ids = directory.appendingPathComponent("ids.txt").path
            let inject = try await PeerProcess("/usr/bin/python3", [
                Peers.repository.appendingPathComponent("scripts/sipp/inject.py").path, "--channel", "dtmf_callin", "--count", "8",
                "--first", "0975100000", "--api", "http://127.0.0.1:\(httpPort)", "--key", key, "--out", calls, "--ids", ids,
            ], name: "inject")
            #expect(await inject.exitStatus() == 0, "\(inject.tail())")
            await inject.stop()
            let lines = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n")
            #expect(lines.first == "SEQUENTIAL")
            #expect(lines.count == 9)
            #expect(lines.dropFirst().allSatisfy { $0.split(separator: ";").count == 3 && $0.hasPrefix("+88697510000") }, "\(lines)")

            let sipp = try await PeerProcess("/usr/bin/sipp", [
                "-sf", Peers.repository.appendingPathComponent("sipp/callin-dtmf.xml").path, "127.0.0.1:\(sipPort)", "-i", "127.0.0.1", "-p", "0",
                "-mp", "0", "-inf", calls, "-m", "8", "-r", "4", "-nostdin", "-timeout", "90s",
            ], name: "sipp-inject")
            let status = await sipp.exitStatus()
            #expect(status == 0, "\(sipp.tail())\nserver: \(server.tail())")
            await sipp.stop()

            for id in try String(contentsOfFile: ids, encoding: .utf8).split(separator: "\n") {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)/v1/verifications/\(id)")!)
                request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                let (data, _) = try await URLSession.shared.data(for: request)
                let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                #expect(object["status"] as? String == "approved", "\(object)")
            }
        } catch {
            await end()
            throw error
        }
        await end()
    }
}
