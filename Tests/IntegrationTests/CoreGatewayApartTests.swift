import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import NIOPosix
import TestSupport
import Testing
import Logging
import VerificationServer

/// `verigate core` and `verigate gateway --sip-config` as two processes joined by the gateway
/// socket: a missed call placed by SIPp at the port sip.conf binds, to the system number sip.conf
/// declares, approves a verification started through the core's API; a gateway killed mid-call reports the call once it is back (its journal);
/// and a broken sip.conf stops `verigate gateway` with 78 and file:line.
@Suite("verigate core + verigate gateway as two processes", .serialized)
struct CoreGatewayApartTests {
    /// A temporary directory with free HTTP and SIP ports and a sip.conf: UDP on the SIP port, the
    /// given `[general]` lines, 127.0.0.0/8 a trusted peer. The core's socket is in the directory.
    struct Setup {
        let directory: URL
        let httpPort: Int
        let sipPort: Int
        var socket: String { directory.appendingPathComponent("gw.sock").path }
        var conf: URL { directory.appendingPathComponent("sip.conf") }

        init(name: String, general: [String] = []) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-\(name)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            httpPort = try Peers.freePort()
            sipPort = try Peers.freePort()
            let lines = ["[general]", "name = \(name)", "bind = 127.0.0.1:\(sipPort)", "transport = udp"] + general
                + ["[loopback]", "type = peer", "host = 127.0.0.0/8", "trusted = yes"]
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: conf)
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        /// `verigate core` on the HTTP port, its data and socket in the directory.
        func core(_ verigate: String, systemNumbers: String, name: String) async throws -> PeerProcess {
            try await PeerProcess(verigate, [
                "core", "--data-dir", directory.path, "--http-address", "127.0.0.1:\(httpPort)", "--gateway-socket", socket,
                "--system-numbers", systemNumbers, "--demo", "off", "--log-level", "warning",
            ], name: name)
        }

        /// `verigate gateway` attached to that socket with the sip.conf and the prompts.
        func gatewayArguments(_ extra: [String] = []) -> [String] {
            ["gateway", "--core-socket", socket, "--sip-config", conf.path, "--prompts", Peers.repository.appendingPathComponent("prompts").path,
             "--log-level", "warning"] + extra
        }
    }

    /// The verigate binary (`VERIGATE_BIN`, else .build/debug/verigate); nil (a failure in CI) when missing.
    static func binary() -> String? {
        let path = ProcessInfo.processInfo.environment["VERIGATE_BIN"] ?? Peers.repository.appendingPathComponent(".build/debug/verigate").path
        return Peers.available(path, package: "the verigate binary (swift build --product verigate)") ? path : nil
    }

    @Test("a broken sip.conf: exit status 78 and the file:line message")
    func configError() async throws {
        guard let verigate = Self.binary() else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-conf-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let conf = directory.appendingPathComponent("sip.conf")
        try Data("[general]\nmissed_call_reject = 302\n".utf8).write(to: conf)
        let gateway = try await PeerProcess(verigate, ["gateway", "--core-socket", directory.appendingPathComponent("none.sock").path, "--sip-config", conf.path], name: "gateway-badconf")
        let status = await gateway.exitStatus()
        let output = gateway.tail()
        await gateway.stop()
        #expect(status == 78, "\(output)")
        #expect(output.contains("\(conf.path):2: missed_call_reject must be a final SIP status from 400 to 699"), "\(output)")
    }

    @Test("a missed call through verigate gateway (sip.conf) approves a verification of verigate core")
    func missedCallApart() async throws {
        guard let verigate = Self.binary(), Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        // The core has no system numbers of its own: the gateway's sip.conf brings one in its hello.
        let setup = try Setup(name: "gw-apart", general: ["missed_call_ring_time = 300ms", "system_number = +886229990001"])
        defer { setup.remove() }
        let (directory, httpPort, sipPort) = (setup.directory, setup.httpPort, setup.sipPort)
        let core = try await setup.core(verigate, systemNumbers: "", name: "core-apart")
        let metricsPort = try Peers.freePort()
        let metricsToken = "gateway-metrics-token-0123"
        let gateway = try await PeerProcess(verigate, setup.gatewayArguments(["--metrics-address", "127.0.0.1:\(metricsPort)", "--metrics-token", metricsToken]),
                                      name: "gateway-apart")
        func end() async {
            for process in [core, gateway] where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
            await core.stop()
            await gateway.stop()
        }
        do {
            try await Self.missedCall(core: core, gateway: gateway, httpPort: httpPort, sipPort: sipPort, directory: directory)
            // The gateway's own /metrics (--metrics-address) counted the call, behind its token.
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
            let (_, refused) = try await URLSession.shared.data(for: request)
            #expect((refused as? HTTPURLResponse)?.statusCode == 401)
            request.setValue("Bearer \(metricsToken)", forHTTPHeaderField: "Authorization")
            var text = ""
            #expect(try await eventuallyTrue {
                text = String(decoding: try await URLSession.shared.data(for: request).0, as: UTF8.self)
                return metricValue(text, #"verigate_gateway_inbound_calls_total{result="missed_call"}"#) == 1
                    && metricValue(text, #"verigate_gateway_calls_ended_total{reason="completed"}"#) == 1
            }, "\(text)")
        } catch {
            await end()
            throw error
        }
        // SIGTERM ends both gracefully with status 0 (verigate unblocks SIGTERM at start, whatever
        // mask its parent left). SIGKILL after 20 s, so a hang fails the test instead of stalling it.
        for process in [gateway, core] {
            let pid = process.process.processIdentifier
            kill(pid, SIGTERM)
            let backstop = Task { try await Task.sleep(for: .seconds(20)); kill(pid, SIGKILL) }
            let status = await process.exitStatus()
            backstop.cancel()
            #expect(status == 0, "\(process.tail())")
        }
        await end()
    }

    /// The API calls and the SIPp call, with both processes running.
    static func missedCall(core: PeerProcess, gateway: PeerProcess, httpPort: Int, sipPort: Int, directory: URL) async throws {

        let apiKey = try await Self.apiKey(core)
        let started = try await Self.start(channel: "missed_call", httpPort: httpPort, apiKey: apiKey, core: core, gateway: gateway)
        let verificationID = try #require(started["id"] as? String)
        #expect(started["system_number"] as? String == "+886229990001", "the number from the gateway's sip.conf: \(started)")

        let trace = directory.appendingPathComponent("sipp-msgs.log")
        let sipp = try await PeerProcess(
            "/usr/bin/sipp",
            ["-sf", Peers.repository.appendingPathComponent("sipp/callin-missed.xml").path, "127.0.0.1:\(sipPort)", "-i", "127.0.0.1", "-p", "0",
             "-m", "1", "-nostdin", "-timeout", "20s", "-inf", try Peers.injectionFile([["0975000888", "+886229990001"]]),
             "-trace_msg", "-message_file", trace.path],
            name: "sipp-apart")
        let status = await sipp.exitStatus()
        let sippOutput = sipp.tail()
        await sipp.stop()
        let messages = (try? String(contentsOf: trace, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(sippOutput)\ngateway: \(gateway.tail())")
        #expect(messages.contains("SIP/2.0 603 "))

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)/v1/verifications/\(verificationID)")!)
        request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        // Approved once the gateway's call_proven (sent at SIPp's ACK of the 603) reached the core.
        var object: [String: Any] = [:]
        let approved = try await eventuallyTrue {
            let (data, _) = try await URLSession.shared.data(for: request)
            object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return object["status"] as? String == "approved"
        }
        #expect(approved, "\(object)")
    }

    /// The API key the core prints on its first start.
    static func apiKey(_ core: PeerProcess) async throws -> String {
        var key: String?
        _ = try await eventuallyTrue {
            let text = (try? String(contentsOf: core.log, encoding: .utf8)) ?? ""
            key = text.components(separatedBy: "Created API key (shown once, keep it): ").dropFirst().first?.split(separator: "\n").first.map(String.init)
            return key != nil
        }
        return try #require(key, "core: \(core.tail())")
    }

    /// Starts a verification for 0975000888 through the API, retrying while no gateway serving the
    /// channel is attached yet (no_gateway); the created resource.
    static func start(channel: String, httpPort: Int, apiKey: String, core: PeerProcess, gateway: PeerProcess) async throws -> [String: Any] {
        var created: [String: Any]?
        _ = try await eventuallyTrue {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)/v1/verifications")!)
            request.httpMethod = "POST"
            request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(#"{"to":"0975000888","channel":"\#(channel)"}"#.utf8)
            guard let result = try? await URLSession.shared.data(for: request), (result.1 as? HTTPURLResponse)?.statusCode == 201,
                  let object = try? JSONSerialization.jsonObject(with: result.0) as? [String: Any] else { return false }
            created = object
            return true
        }
        return try #require(created, "core: \(core.tail())\ngateway: \(gateway.tail())")
    }

    @Test("the gateway killed (SIGKILL) mid-call and started again tells the core the call failed: gateway restarted")
    func gatewayKilledMidCall() async throws {
        guard let verigate = Self.binary(), Peers.available("/usr/bin/sipp", package: "sip-tester") else { return }
        let setup = try Setup(name: "gw-kill", general: ["rtp_start = 61220", "rtp_end = 61320"])
        defer { setup.remove() }
        let (directory, httpPort, sipPort) = (setup.directory, setup.httpPort, setup.sipPort)
        let journal = directory.appendingPathComponent("gateway.journal").path
        let gatewayArguments = setup.gatewayArguments(["--journal", journal])
        let core = try await setup.core(verigate, systemNumbers: "+886229996666", name: "core-kill")
        var gateway = try await PeerProcess(verigate, gatewayArguments, name: "gateway-kill")
        var sipp: PeerProcess?
        func end() async {
            for process in [core, gateway] + (sipp.map { [$0] } ?? []) where process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
            for process in [core, gateway] + (sipp.map { [$0] } ?? []) { await process.stop() }
        }
        do {
            let apiKey = try await Self.apiKey(core)
            let started = try await Self.start(channel: "dtmf_callin", httpPort: httpPort, apiKey: apiKey, core: core, gateway: gateway)
            let id = try #require(started["id"] as? String)
            // SIPp calls in and keys nothing; the gateway answers and waits for digits.
            sipp = try await PeerProcess(
                "/usr/bin/sipp",
                ["-sf", Peers.repository.appendingPathComponent("sipp/callin-voice.xml").path, "127.0.0.1:\(sipPort)", "-i", "127.0.0.1", "-p", "0",
                 "-m", "1", "-nostdin", "-timeout", "60s", "-inf", try Peers.injectionFile([["0975000888", "+886229996666"]])],
                name: "sipp-kill")
            // Mid-call: the journal holds the call (it serves the verification and has not ended).
            #expect(try await eventuallyTrue {
                ((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").contains("B\t")
            }, "gateway: \(gateway.tail())")
            kill(gateway.process.processIdentifier, SIGKILL)
            _ = await gateway.exitStatus()
            await gateway.stop()
            gateway = try await PeerProcess(verigate, gatewayArguments, name: "gateway-kill-2")

            // The core's audit trail (its SQLite database, read beside it) gets the failed call.
            var logger = Logger(label: "test")
            logger.logLevel = .error
            let store = try await SQLVerificationStore.open(url: directory.appendingPathComponent("verigate.db").path, logger: logger)
            #expect(try await eventuallyTrue {
                try await store.events(verificationID: id).contains { $0.detail == "call ended: failed, gateway restarted" }
            }, "gateway: \(gateway.tail())")
            let verification = try await store.verification(id: id)
            #expect(verification?.status == .pending, "a failed call leaves the verification to its policy, pending")
            try await store.shutdown()
            // Acknowledged: nothing is left to send on a further restart.
            #expect(try await eventuallyTrue {
                let text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
                return text.contains("A\t\(id)") || text.contains("\nA\t")
            })
        } catch {
            await end()
            throw error
        }
        await end()
    }
}
