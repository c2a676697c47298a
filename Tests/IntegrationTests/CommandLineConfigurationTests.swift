import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `verigate`'s numeric options and variables: a value that is not a number, or out of range, stops
/// the command with exit status 78 and names the variable, instead of running on the default.
@Suite("verigate refuses unreadable numbers in its environment and options")
struct CommandLineConfigurationTests {
    /// Runs `verigate arguments` with `environment` in a fresh data directory; its status and output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String)? {
        guard let verigate = CoreGatewayApartTests.binary() else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = try PeerProcess(verigate, arguments + ["--data-dir", directory.path], name: "cli", environment: environment)
        let status = await process.exitStatus()
        let output = process.tail()
        await process.stop()
        return (status, output)
    }

    @Test("VERIGATE_CODE_TTL=10m stops verigate core with 78, naming the variable")
    func notANumber() async throws {
        guard let (status, output) = try await Self.run(
            ["core", "--http-address", "127.0.0.1:0", "--log-level", "warning"], environment: ["VERIGATE_CODE_TTL": "10m"]) else { return }
        #expect(status == 78, "\(output)")
        #expect(output.contains("VERIGATE_CODE_TTL must be a number, not \"10m\""), "\(output)")
    }

    @Test("VERIGATE_DB_POOL=lots and --db-pool 0 are refused; VERIGATE_DB_POOL=3 opens 3 connections")
    func databasePool() async throws {
        guard let (status, output) = try await Self.run(["api-key"], environment: ["VERIGATE_DB_POOL": "lots"]) else { return }
        #expect(status == 78, "\(output)")
        #expect(output.contains("VERIGATE_DB_POOL must be a whole number, not \"lots\""), "\(output)")
        guard let (zeroStatus, zeroOutput) = try await Self.run(["api-key", "--db-pool", "0"]) else { return }
        #expect(zeroStatus == 78, "\(zeroOutput)")
        #expect(zeroOutput.contains("--db-pool must be 1 to 1000, not 0"), "\(zeroOutput)")
        guard let (okStatus, okOutput) = try await Self.run(["api-key"], environment: ["VERIGATE_DB_POOL": "3"]) else { return }
        #expect(okStatus == 0, "\(okOutput)")
        #expect(okOutput.contains("pool=3"), "\(okOutput)")
    }

    @Test("VERIGATE_VOICE_CALL_KEYPRESS=maybe is refused with 78, naming the choices")
    func voiceCallKeypress() async throws {
        guard let (status, output) = try await Self.run(
            ["core", "--http-address", "127.0.0.1:0", "--log-level", "warning"], environment: ["VERIGATE_VOICE_CALL_KEYPRESS": "maybe"]) else { return }
        #expect(status == 78, "\(output)")
        #expect(output.contains("--voice-call-keypress must be on or off, got 'maybe'"), "\(output)")
    }

    @Test("--line-types, --channel-sends-per-hour and --prefix-length are parsed strictly: a bad value stops verigate core with 78")
    func sendGuardOptions() async throws {
        let core = ["core", "--http-address", "127.0.0.1:0", "--log-level", "warning"]
        for (arguments, environment, message) in [
            (["--line-types", "sms=cellphone"], [:], "--line-types: line types: cellphone is not any or one of"),
            ([], ["VERIGATE_LINE_TYPES": "fax=mobile"], "--line-types: line types: fax=mobile must be channel=type,type"),
            ([], ["VERIGATE_CHANNEL_SENDS_PER_HOUR": "sms=lots"], "--channel-sends-per-hour: channel budget: lots is not a count of 0 or more"),
            (["--prefix-length", "0"], [:], "--prefix-length must be 1 to 12"),
            ([], ["VERIGATE_PREFIX_SENDS_PER_HOUR": "many"], "VERIGATE_PREFIX_SENDS_PER_HOUR must be a whole number, not \"many\""),
        ] as [([String], [String: String], String)] {
            guard let (status, output) = try await Self.run(core + arguments, environment: environment) else { return }
            #expect(status == 78, "\(arguments) \(environment): \(output)")
            #expect(output.contains(message), "\(output)")
        }
    }
}

/// Issue 12 item 6: safe defaults for a careless deployment. Dev mode and open metrics stay on
/// loopback; production offers call-in channels only with system numbers the operator configured.
@Suite("verigate refuses unsafe defaults off loopback")
struct SafeDefaultsTests {
    @Test("dev mode on 0.0.0.0 stops with 78 and says to use --mode production")
    func devModeOffLoopback() async throws {
        guard let (status, output) = try await CommandLineConfigurationTests.run(["core", "--http-address", "0.0.0.0:0", "--log-level", "warning"]) else { return }
        #expect(status == 78, "\(output)")
        #expect(output.contains("use --mode production"), "\(output)")
        guard let (v6Status, v6Output) = try await CommandLineConfigurationTests.run(["core", "--http-address", "[::]:0", "--mode", "dev", "--demo", "off"]) else { return }
        #expect(v6Status == 78, "\(v6Output)")
    }

    @Test("production on 0.0.0.0 without --metrics-token stops with 78 naming --metrics-token")
    func metricsOffLoopbackNeedAToken() async throws {
        guard let (status, output) = try await CommandLineConfigurationTests.run(
            ["core", "--mode", "production", "--http-address", "0.0.0.0:0", "--log-level", "warning"]) else { return }
        #expect(status == 78, "\(output)")
        #expect(output.contains("needs --metrics-token"), "\(output)")
        guard let (flagStatus, flagOutput) = try await CommandLineConfigurationTests.run(
            ["core", "--mode", "production", "--http-address", "127.0.0.1:0", "--metrics-token", "a-token-of-16-chars+"],
            environment: ["VERIGATE_ALLOW_PRIVATE_WEBHOOKS": "maybe"]) else { return }
        #expect(flagStatus == 78, "\(flagOutput)")
        #expect(flagOutput.contains("VERIGATE_ALLOW_PRIVATE_WEBHOOKS must be 1 or 0"), "\(flagOutput)")
    }

    @Test("verigate gateway --metrics-address 0.0.0.0 without --metrics-token stops with 78")
    func gatewayMetricsOffLoopbackNeedAToken() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        // (`run` adds --data-dir, which the gateway has not.)
        let process = try PeerProcess(verigate, ["gateway", "--metrics-address", "0.0.0.0:0", "--core-socket", "/nonexistent/gw.sock", "--log-level", "warning"],
                                      name: "gateway-metrics")
        let status = await process.exitStatus()
        let output = process.tail()
        await process.stop()
        #expect(status == 78, "\(output)")
        #expect(output.contains("--metrics-address 0.0.0.0:0, reachable from the network, needs --metrics-token"), "\(output)")
    }

    @Test("production with a metrics token starts on 0.0.0.0; its /metrics needs the token")
    func productionWithTokenStarts() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-safe-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try CoreGatewayApartTests.freeTCPPort()
        let token = "metrics-token-0123456789"
        let core = try PeerProcess(verigate, [
            "core", "--mode", "production", "--http-address", "0.0.0.0:\(port)", "--metrics-token", token, "--data-dir", directory.path,
            "--gateway-socket", directory.appendingPathComponent("gw.sock").path, "--log-level", "warning",
        ], name: "safe-production")
        func end() async {
            if core.process.isRunning { kill(core.process.processIdentifier, SIGKILL) }
            await core.stop()
        }
        do {
            let base = "http://127.0.0.1:\(port)"
            let up = try await eventuallyTrue {
                guard let (_, response) = try? await URLSession.shared.data(from: URL(string: base + "/healthz")!) else { return false }
                return (response as? HTTPURLResponse)?.statusCode == 200
            }
            #expect(up, "\(core.tail())")
            let (_, open) = try await URLSession.shared.data(from: URL(string: base + "/metrics")!)
            #expect((open as? HTTPURLResponse)?.statusCode == 401)
            var request = URLRequest(url: URL(string: base + "/metrics")!)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (_, scraped) = try await URLSession.shared.data(for: request)
            #expect((scraped as? HTTPURLResponse)?.statusCode == 200)
        } catch {
            await end()
            throw error
        }
        await end()
    }

    /// Starts `verigate core` with `arguments` on a loopback port, and answers a missed_call start
    /// (no gateway attached) with its status and problem code.
    static func missedCallStart(_ arguments: [String]) async throws -> (status: Int, code: String?)? {
        guard let verigate = CoreGatewayApartTests.binary() else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-numbers-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try CoreGatewayApartTests.freeTCPPort()
        let core = try PeerProcess(verigate, ["core", "--http-address", "127.0.0.1:\(port)", "--data-dir", directory.path, "--demo", "off",
                                              "--gateway-socket", directory.appendingPathComponent("gw.sock").path, "--log-level", "warning"] + arguments,
                                   name: "numbers")
        func end() async {
            if core.process.isRunning { kill(core.process.processIdentifier, SIGKILL) }
            await core.stop()
        }
        let key: String
        do { key = try await CoreGatewayApartTests.apiKey(core) } catch { await end(); throw error }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/verifications")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"to":"0975000888","channel":"missed_call"}"#.utf8)
        // The core may still be binding its port: retry until it answers.
        var answer: (Data, URLResponse)?
        _ = try await eventuallyTrue {
            answer = try? await URLSession.shared.data(for: request)
            return answer != nil
        }
        await end()
        let (data, response) = try #require(answer, "no answer from the core")
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object?["code"] as? String)
    }

    @Test("production offers no placeholder system number: call-in needs one the operator configured")
    func noPlaceholderSystemNumberInProduction() async throws {
        guard let production = try await Self.missedCallStart(["--mode", "production"]) else { return }
        #expect(production.status == 400 && production.code == "channel_disabled", "\(production)")
        // With a number configured it gets past the number (and on to the missing gateway); dev mode has its placeholder.
        guard let configured = try await Self.missedCallStart(["--mode", "production", "--system-numbers", "+886227208888"]) else { return }
        #expect(configured.status == 503 && configured.code == "no_gateway", "\(configured)")
        guard let dev = try await Self.missedCallStart([]) else { return }
        #expect(dev.status == 503 && dev.code == "no_gateway", "\(dev)")
    }
}
