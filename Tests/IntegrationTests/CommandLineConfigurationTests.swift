import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// `verigate`'s options are typed (issue 13): a value its type cannot hold, from the flag or from its
/// `VERIGATE_*` variable, stops the command with exit status 78 and a message naming the flag or
/// variable and what it accepts, instead of running on the default. Flag > variable > default.
@Suite("verigate refuses option values it cannot use, from flags and from VERIGATE_* variables")
struct CommandLineConfigurationTests {
    /// Runs `verigate arguments` with `environment` (in a fresh `--data-dir` when `dataDirectory`);
    /// its status and output.
    static func run(_ arguments: [String], environment: [String: String] = [:], dataDirectory: Bool = true) async throws -> (status: Int32, output: String)? {
        guard let verigate = CoreGatewayApartTests.binary() else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = try await PeerProcess(verigate, arguments + (dataDirectory ? ["--data-dir", directory.path] : []), name: "cli", environment: environment)
        // A command that should have stopped but serves is killed (status 9), not waited for.
        _ = try await eventuallyTrue { !process.process.isRunning }
        if process.process.isRunning { kill(process.process.processIdentifier, SIGKILL) }
        let status = await process.exitStatus()
        let output = process.tail()
        await process.stop()
        return (status, output)
    }

    /// Runs each case and expects exit 78 with its message in the output.
    static func expectRefused(_ cases: [(arguments: [String], environment: [String: String], message: String)], dataDirectory: Bool = true) async throws {
        for (arguments, environment, message) in cases {
            guard let (status, output) = try await run(arguments, environment: environment, dataDirectory: dataDirectory) else { return }
            #expect(status == 78, "\(arguments) \(environment): \(output)")
            #expect(output.contains(message), "\(arguments) \(environment): \(output)")
        }
    }

    static let core = ["core", "--http-address", "127.0.0.1:0"]
    static let levels = "trace, debug, info, notice, warning, error or critical"

    @Test("--log-level bogus and VERIGATE_LOG_LEVEL=bogus stop verigate with 78, naming the flag or variable and the levels")
    func logLevel() async throws {
        try await Self.expectRefused([
            (Self.core + ["--log-level", "bogus"], [:], "The value 'bogus' is invalid for '--log-level <log-level>': must be \(Self.levels)"),
            (Self.core, ["VERIGATE_LOG_LEVEL": "bogus"], "The value 'bogus' is invalid for VERIGATE_LOG_LEVEL: must be \(Self.levels)"),
        ])
        // The gateway reads the same option.
        try await Self.expectRefused([
            (["gateway", "--core-socket", "/nonexistent/gw.sock"], ["VERIGATE_LOG_LEVEL": "loud"], "The value 'loud' is invalid for VERIGATE_LOG_LEVEL"),
        ], dataDirectory: false)
    }

    @Test("A bad choice (--caller-id-trust missed_call=maybe, --mode, --sms-driver, --demo, --channels) stops verigate core with 78, naming what it accepts")
    func choices() async throws {
        try await Self.expectRefused([
            (Self.core + ["--caller-id-trust", "missed_call=maybe"], [:],
             "The value 'missed_call=maybe' is invalid for '--caller-id-trust <caller-id-trust>': caller ID trust: maybe is not verified, asserted or unverified"),
            (Self.core, ["VERIGATE_CALLER_ID_TRUST": "sms=asserted"],
             "The value 'sms=asserted' is invalid for VERIGATE_CALLER_ID_TRUST: caller ID trust: sms=asserted must be missed_call, voice_callin or dtmf_callin = levels"),
            (Self.core + ["--mode", "prod"], [:], "The value 'prod' is invalid for '--mode <mode>': must be dev or production"),
            (Self.core, ["VERIGATE_SMS_DRIVER": "twilio"], "The value 'twilio' is invalid for VERIGATE_SMS_DRIVER: must be console, kannel or smpp"),
            (Self.core, ["VERIGATE_DEMO": "yes"], "The value 'yes' is invalid for VERIGATE_DEMO: must be on or off"),
            (Self.core + ["--channels", "sms,fax"], [:], "The value 'sms,fax' is invalid for '--channels <channels>': fax is not a channel"),
            (Self.core, ["VERIGATE_SMPP_PACKING": "tight"], "The value 'tight' is invalid for VERIGATE_SMPP_PACKING: must be unpacked or packed"),
            (Self.core + ["--default-region", "XX"], [:], "The value 'XX' is invalid for '--default-region <default-region>': XX is not a region libphonenumber knows"),
            (Self.core, ["VERIGATE_ALLOWED_REGIONS": "US,Mars"], "The value 'US,Mars' is invalid for VERIGATE_ALLOWED_REGIONS: Mars is not a region"),
        ])
    }

    @Test("A bad duration (--code-ttl soon, VERIGATE_CALL_RETRY_DELAY=-5, VERIGATE_CODE_TTL=ten, --sms-receipt-timeout 5 min) stops verigate core with 78")
    func durations() async throws {
        let accepted = "must be a duration of 0 or more: seconds, or a number with ms, s, m or h"
        try await Self.expectRefused([
            (Self.core + ["--code-ttl", "soon"], [:], "The value 'soon' is invalid for '--code-ttl <code-ttl>': \(accepted)"),
            (Self.core, ["VERIGATE_CALL_RETRY_DELAY": "-5"], "The value '-5' is invalid for VERIGATE_CALL_RETRY_DELAY: \(accepted)"),
            (Self.core, ["VERIGATE_CODE_TTL": "ten"], "The value 'ten' is invalid for VERIGATE_CODE_TTL: \(accepted)"),
            (Self.core + ["--sms-receipt-timeout", "5 min"], [:], "The value '5 min' is invalid for '--sms-receipt-timeout <sms-receipt-timeout>': \(accepted)"),
            (Self.core + ["--code-ttl", "0s"], [:], "--code-ttl must be more than 0"),
        ])
    }

    @Test("A bad port (gateway --metrics-address 127.0.0.1:99999, VERIGATE_GATEWAY_METRICS_ADDRESS, serve --sip-address, --http-address) stops verigate with 78")
    func ports() async throws {
        try await Self.expectRefused([
            (["gateway", "--core-socket", "/nonexistent/gw.sock", "--metrics-address", "127.0.0.1:99999"], [:],
             "The value '127.0.0.1:99999' is invalid for '--metrics-address <metrics-address>': port 99999 is not a port number, 0 to 65535"),
            (["gateway", "--core-socket", "/nonexistent/gw.sock"], ["VERIGATE_GATEWAY_METRICS_ADDRESS": "127.0.0.1:http"],
             "The value '127.0.0.1:http' is invalid for VERIGATE_GATEWAY_METRICS_ADDRESS: port http is not a port number, 0 to 65535"),
            (["gateway", "--core-socket", "/nonexistent/gw.sock", "--metrics-address", "metrics.example:9090"], [:],
             "--metrics-address needs a literal IP address, got metrics.example"),
        ], dataDirectory: false)
        try await Self.expectRefused([
            (["serve", "--http-address", "127.0.0.1:0", "--sip-address", "127.0.0.1:65536"], [:],
             "The value '127.0.0.1:65536' is invalid for '--sip-address <sip-address>': port 65536 is not a port number, 0 to 65535"),
            (["serve", "--http-address", "127.0.0.1:0"], ["VERIGATE_SIP_ADDRESS": "5060"],
             "The value '5060' is invalid for VERIGATE_SIP_ADDRESS: must be off or host:port"),
            (["core"], ["VERIGATE_HTTP_ADDRESS": "127.0.0.1:80800"], "The value '127.0.0.1:80800' is invalid for VERIGATE_HTTP_ADDRESS: port 80800 is not a port number"),
            (Self.core + ["--smpp-address", "smsc:0"], [:], "--smpp-address needs a port 1 to 65535, not 0"),
        ])
    }

    @Test("Good values start verigate core: the flag wins over its variable (even a bad one), the variable over the default, an empty flag is not given")
    func goodValuesStart() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-good-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let core = try await PeerProcess(verigate, [
            "core", "--http-address", "127.0.0.1:0", "--data-dir", directory.path, "--log-level", "info", "--mode", "dev",
            "--call-retry-delay", "1m", "--sms-receipt-timeout", "90s", "--caller-id-trust", "dtmf_callin=asserted,unverified",
            "--gateway-socket", "",
        ], name: "good-values", environment: [
            "VERIGATE_LOG_LEVEL": "bogus", "VERIGATE_MODE": "production", "VERIGATE_DEFAULT_REGION": "us", "VERIGATE_DEMO": "off",
            "VERIGATE_CODE_TTL": "10m", "VERIGATE_RESEND_INTERVAL": "1.5", "VERIGATE_ALLOW_PRIVATE_WEBHOOKS": "no",
        ])
        let serving = try await eventuallyTrue { core.tail().contains("core.serving") || !core.process.isRunning }
        let output = core.tail()
        await core.stop()
        #expect(serving && output.contains("core.serving"), "\(output)")
        // --mode dev over VERIGATE_MODE=production; VERIGATE_DEFAULT_REGION=us and VERIGATE_DEMO=off over the defaults (TW, on in dev).
        let line = output.split(separator: "\n").first { $0.contains("core.serving") }.map(String.init) ?? ""
        #expect(line.contains("mode=dev") && line.contains("region=US") && line.contains("demo=off"), "\(line)")
        // An empty --gateway-socket is not given: the default beside the data.
        #expect(line.contains("gateway_socket=\(directory.appendingPathComponent("gateway.sock").path)"), "\(line)")
        // glibc's malloc trim threshold was set (README "Configuration", GLIBC_TUNABLES).
        #expect(line.contains("malloc_trim=\(64 << 20)"), "\(line)")
    }

    @Test("VERIGATE_DB_POOL=lots and --db-pool 0 are refused; VERIGATE_DB_POOL=3 opens 3 connections")
    func databasePool() async throws {
        guard let (status, output) = try await Self.run(["api-key"], environment: ["VERIGATE_DB_POOL": "lots"]) else { return }
        #expect(status == 78, "\(output)")
        #expect(output.contains("The value 'lots' is invalid for VERIGATE_DB_POOL: must be a whole number"), "\(output)")
        guard let (zeroStatus, zeroOutput) = try await Self.run(["api-key", "--db-pool", "0"]) else { return }
        #expect(zeroStatus == 78, "\(zeroOutput)")
        #expect(zeroOutput.contains("--db-pool must be 1 to 1000, not 0"), "\(zeroOutput)")
        guard let (okStatus, okOutput) = try await Self.run(["api-key"], environment: ["VERIGATE_DB_POOL": "3"]) else { return }
        #expect(okStatus == 0, "\(okOutput)")
        #expect(okOutput.contains("pool=3"), "\(okOutput)")
    }

    @Test("--postgres-schema is refused with 78 on SQLite and when it is not a plain identifier (an injection, a quote, 64 bytes)")
    func postgresSchema() async throws {
        let postgres = "postgres://verigate@127.0.0.1:1/verigate"
        try await Self.expectRefused([
            (["api-key", "--postgres-schema", "tenant_a"], [:], "--postgres-schema (VERIGATE_POSTGRES_SCHEMA) needs a postgres:// --database-url; the database is SQLite"),
            (["api-key", "--database-url", postgres], ["VERIGATE_POSTGRES_SCHEMA": "a; DROP TABLE verifications"],
             #"--postgres-schema must be 1-63 letters, digits and _, not starting with a digit, not "a; DROP TABLE verifications""#),
            (["api-key", "--database-url", postgres, "--postgres-schema", #"x"y"#], [:], "--postgres-schema must be 1-63 letters"),
            (["api-key", "--database-url", postgres, "--postgres-schema", "9lives"], [:], "--postgres-schema must be 1-63 letters"),
            (["api-key", "--database-url", postgres, "--postgres-schema", String(repeating: "s", count: 64)], [:], "--postgres-schema must be 1-63 letters"),
        ])
    }

    @Test("VERIGATE_VOICE_CALL_KEYPRESS=maybe is refused with 78, naming the variable and the choices")
    func voiceCallKeypress() async throws {
        try await Self.expectRefused([
            (Self.core, ["VERIGATE_VOICE_CALL_KEYPRESS": "maybe"], "The value 'maybe' is invalid for VERIGATE_VOICE_CALL_KEYPRESS: must be on or off"),
        ])
    }

    @Test("--line-types, --channel-sends-per-hour and --prefix-length are parsed strictly: a bad value stops verigate core with 78")
    func sendGuardOptions() async throws {
        try await Self.expectRefused([
            (Self.core + ["--line-types", "sms=cellphone"], [:], "The value 'sms=cellphone' is invalid for '--line-types <line-types>': line types: cellphone is not any or one of"),
            (Self.core, ["VERIGATE_LINE_TYPES": "fax=mobile"], "The value 'fax=mobile' is invalid for VERIGATE_LINE_TYPES: line types: fax=mobile must be channel=type,type"),
            (Self.core, ["VERIGATE_CHANNEL_SENDS_PER_HOUR": "sms=lots"], "invalid for VERIGATE_CHANNEL_SENDS_PER_HOUR: channel budget: lots is not a count of 0 or more"),
            (Self.core + ["--prefix-length", "0"], [:], "--prefix-length must be 1 to 12"),
            (Self.core, ["VERIGATE_PREFIX_SENDS_PER_HOUR": "many"], "The value 'many' is invalid for VERIGATE_PREFIX_SENDS_PER_HOUR: must be a whole number"),
            (Self.core + ["--kannel-dlr-mask", "64"], [:], "--kannel-dlr-mask must be 0 to 31, not 64"),
        ])
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
        #expect(flagOutput.contains("The value 'maybe' is invalid for VERIGATE_ALLOW_PRIVATE_WEBHOOKS: must be 1 or 0"), "\(flagOutput)")
    }

    @Test("verigate gateway --metrics-address 0.0.0.0 without --metrics-token stops with 78")
    func gatewayMetricsOffLoopbackNeedAToken() async throws {
        guard let verigate = CoreGatewayApartTests.binary() else { return }
        // (`run` adds --data-dir, which the gateway has not.)
        let process = try await PeerProcess(verigate, ["gateway", "--metrics-address", "0.0.0.0:0", "--core-socket", "/nonexistent/gw.sock", "--log-level", "warning"],
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
        let port = try Peers.freePort()
        let token = "metrics-token-0123456789"
        let core = try await PeerProcess(verigate, [
            "core", "--mode", "production", "--http-address", "0.0.0.0:\(port)", "--metrics-token", token, "--data-dir", directory.path,
            "--gateway-socket", directory.appendingPathComponent("gw.sock").path, "--log-level", "warning",
        ], name: "safe-production")
        func end() async {
            if core.process.isRunning { kill(core.process.processIdentifier, SIGKILL) }
            await core.stop()
        }
        do {
            let base = "http://127.0.0.1:\(port)"
            let up = try await Peers.servesHealthz(base, within: .seconds(30))
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
        let port = try Peers.freePort()
        let core = try await PeerProcess(verigate, ["core", "--http-address", "127.0.0.1:\(port)", "--data-dir", directory.path, "--demo", "off",
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
