import Foundation
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
