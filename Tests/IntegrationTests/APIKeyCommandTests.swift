import Foundation
import Testing

/// `verigate api-key create|list|revoke` (issue 13), run as the binary on one SQLite data directory.
@Suite("verigate api-key creates, lists and revokes keys")
struct APIKeyCommandTests {
    /// Runs `verigate api-key arguments` on the data directory `directory`; its status and output.
    static func run(_ arguments: [String], directory: URL) async throws -> (status: Int32, output: String)? {
        guard let verigate = CoreGatewayApartTests.binary() else { return nil }
        let process = try await PeerProcess(verigate, ["api-key"] + arguments + ["--data-dir", directory.path], name: "api-key")
        let status = await process.exitStatus()
        let output = process.tail(200)
        await process.stop()
        return (status, output)
    }

    /// The key a create printed (its own line, "vg_" + 40 base-32 characters).
    static func key(_ output: String) -> String? {
        output.split(separator: "\n").map(String.init).first { line in
            line.hasPrefix("vg_") && line.count == 43 && line.dropFirst(3).allSatisfy { $0.isLowercase || ("2"..."7").contains($0) }
        }
    }

    /// The table line of the key named `name` in a list's output, split into its columns.
    static func row(_ output: String, name: String) -> [String]? {
        output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .first { $0.count == 4 && $0[0].hasPrefix("AK") && $0[1] == name }
    }

    @Test("create (also as plain api-key --name), list without secrets, revoke by name or id; each mistake said in one line")
    func lifecycle() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        guard let created = try await Self.run(["create", "--name", "alpha"], directory: directory) else { return }
        #expect(created.status == 0, "\(created.output)")
        let alphaKey = try #require(Self.key(created.output), "\(created.output)")
        let legacy = try #require(try await Self.run(["--name", "beta"], directory: directory))
        #expect(legacy.status == 0, "\(legacy.output)")
        let betaKey = try #require(Self.key(legacy.output), "\(legacy.output)")

        let listed = try #require(try await Self.run(["list"], directory: directory))
        #expect(listed.status == 0, "\(listed.output)")
        #expect(listed.output.contains("ID"), "\(listed.output)")
        let alpha = try #require(Self.row(listed.output, name: "alpha"), "\(listed.output)")
        let beta = try #require(Self.row(listed.output, name: "beta"), "\(listed.output)")
        #expect(alpha[3] == "-" && beta[3] == "-", "\(listed.output)")
        #expect(!listed.output.contains(alphaKey) && !listed.output.contains(betaKey) && !listed.output.contains("vg_"), "a list shows no key")

        let revoked = try #require(try await Self.run(["revoke", "alpha"], directory: directory))
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(revoked.output.contains("revoked \(alpha[0]) (alpha)"), "\(revoked.output)")
        let again = try #require(try await Self.run(["revoke", alpha[0]], directory: directory))
        #expect(again.status != 0, "\(again.output)")
        #expect(again.output.contains("API key \(alpha[0]) (\"alpha\") was revoked already"), "\(again.output)")
        let unknown = try #require(try await Self.run(["revoke", "nobody"], directory: directory))
        #expect(unknown.status != 0, "\(unknown.output)")
        #expect(unknown.output.contains("no API key has the id or name \"nobody\""), "\(unknown.output)")
        let unnamed = try #require(try await Self.run(["create", "--name", " "], directory: directory))
        #expect(unnamed.status != 0, "\(unnamed.output)")
        #expect(unnamed.output.contains("an API key name must be 1 to 100 characters"), "\(unnamed.output)")
        #expect(Self.key(unnamed.output) == nil)

        let byID = try #require(try await Self.run(["revoke", beta[0]], directory: directory))
        #expect(byID.status == 0, "\(byID.output)")
        let after = try #require(try await Self.run(["list"], directory: directory))
        let alphaAfter = try #require(Self.row(after.output, name: "alpha"), "\(after.output)")
        let betaAfter = try #require(Self.row(after.output, name: "beta"), "\(after.output)")
        #expect(alphaAfter[0] == alpha[0] && alphaAfter[2] == alpha[2])
        #expect(alphaAfter[3] != "-" && ISO8601DateFormatter().date(from: alphaAfter[3]) != nil, "\(after.output)")
        #expect(betaAfter[3] != "-" && ISO8601DateFormatter().date(from: betaAfter[3]) != nil, "\(after.output)")
        #expect(after.output.split(separator: "\n").filter { $0.hasPrefix("AK") }.count == 2, "\(after.output)")
    }
}
