import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import Verification
@testable import VerificationServer

/// Data survives a restart: a verification started before is checked after, with the same key.
@Suite struct RestartTests {
    @Test func verificationSurvivesARestartOnSQLite() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("verigate.db").path
        let secret = try Secrets.loadOrCreateSecret(at: dir.appendingPathComponent("secret").path)
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        // First run: create a key, start a verification, stop.
        let first = try await SQLVerificationStore.open(url: db, logger: logger)
        let core1 = Core(configuration: CoreConfiguration(), store: first, secret: secret, logger: logger)
        let key = try #require(try await core1.bootstrapAPIKey())
        let auth: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]
        let (id, code) = try await Application(router: core1.router()).test(.router) { client in
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: auth,
                                              body: ByteBuffer(string: #"{"to":"0975000888","channel":"sms"}"#)) { r in
                #expect(r.status == .created)
                return r.body.json["id"] as? String ?? ""
            }
            let text = core1.sms.outbox.last?.text ?? ""
            return (id, text.split(whereSeparator: { !$0.isNumber }).map(String.init).first { $0.count == 6 } ?? "")
        }
        try await first.shutdown()

        // Second run on the same file and secret: no new key, the code still works.
        let second = try await SQLVerificationStore.open(url: db, logger: logger)
        let core2 = Core(configuration: CoreConfiguration(), store: second, secret: try Secrets.loadOrCreateSecret(at: dir.appendingPathComponent("secret").path), logger: logger)
        #expect(try await core2.bootstrapAPIKey() == nil)
        try await Application(router: core2.router()).test(.router) { client in
            try await client.execute(uri: "/v1/verifications/\(id)", method: .get, headers: auth) { r in
                #expect(r.body.json["status"] as? String == "pending")
                #expect(r.body.json["send_count"] as? Int == 1)
            }
            try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: auth,
                                     body: ByteBuffer(string: #"{"code":"\#(code)"}"#)) { r in
                #expect(r.body.json["status"] as? String == "approved")
            }
        }
        let trail = try await second.events(verificationID: id).map(\.kind)
        #expect(trail == [.created, .sent, .approved])
        try await second.shutdown()
    }

    @Test func secretFileIsPrivateAndRefusedWhenReadableByOthers() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-secret-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("secret").path
        let secret = try Secrets.loadOrCreateSecret(at: path)
        #expect(secret.count == 32)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try Secrets.loadOrCreateSecret(at: path) == secret)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: ConfigurationError.self) { try Secrets.loadOrCreateSecret(at: path) }
    }
}
