import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import Verification
@testable import VerificationServer

// Issue 13: API keys as their own type (`APIKeys`), listed and revoked; a revoked key is refused
// by every node sharing the store, within `APIKeys.cacheTTL`. On SQLite and (under
// scripts/with-postgres.sh, or CI=true) PostgreSQL.

@Suite("API keys: create, list, revoke; a revoked key gets 401 on every node")
struct APIKeyTests {
    /// Creates, lists and revokes keys through `APIKeys` over `store`, checking every refusal.
    static func exercise(_ store: any APIKeyStore) async throws {
        let clock = ManualClock()
        let keys = APIKeys(store: store, clock: clock)
        let (alphaKey, alpha) = try await keys.create(name: "alpha")
        clock.advance(1)
        let (betaKey, beta) = try await keys.create(name: "beta")
        clock.advance(1)
        let (betaTwoKey, betaTwo) = try await keys.create(name: "  beta ")
        #expect(betaTwo.name == "beta")
        #expect(alpha.sha256 == Secrets.sha256(alphaKey))
        #expect(try await keys.list() == [alpha, beta, betaTwo])
        #expect(try await keys.authenticate(betaKey) == beta)

        // Two valid keys named beta: revoking by name must not pick one.
        await #expect(throws: APIKeyError.ambiguousName("beta", ids: [beta.id, betaTwo.id])) { try await keys.revoke("beta") }
        #expect(try await keys.authenticate(betaKey) != nil)

        clock.advance(1)
        let revokedAt = clock.now()
        let revoked = try await keys.revoke(beta.id)
        #expect(revoked.id == beta.id && revoked.revokedAt == revokedAt)
        #expect(try await keys.authenticate(betaKey) == nil)
        #expect(try await keys.authenticate(betaTwoKey) == betaTwo)
        #expect(try await store.apiKey(sha256: beta.sha256)?.revokedAt == revokedAt)

        // Now one valid key is named beta: the name finds it.
        clock.advance(1)
        #expect(try await keys.revoke("beta").id == betaTwo.id)
        #expect(try await keys.authenticate(betaTwoKey) == nil)
        await #expect(throws: APIKeyError.self) { try await keys.revoke("beta") }
        do {
            try await keys.revoke(beta.id)
            Issue.record("a second revocation was accepted")
        } catch let error as APIKeyError {
            guard case .alreadyRevoked(let record) = error else { Issue.record("\(error)"); return }
            #expect(record.revokedAt == revokedAt, "the first revocation's time stays")
        }
        #expect(try await store.revokeAPIKey(id: beta.id, at: clock.now()) == false)
        #expect(try await store.revokeAPIKey(id: "AKnone", at: clock.now()) == false)
        await #expect(throws: APIKeyError.notFound("gamma")) { try await keys.revoke("gamma") }

        // Revoked keys stay listed (verifications still name them) and count: no new default key.
        let listed = try await keys.list()
        #expect(listed.map(\.id) == [alpha.id, beta.id, betaTwo.id])
        #expect(listed.map { $0.revokedAt != nil } == [false, true, true])
        try await keys.revoke(alpha.id)
        #expect(try await keys.bootstrap() == nil)
        #expect(try await keys.authenticate(alphaKey) == nil)

        for bad in ["", "   ", "line\nbreak", "tab\there", String(repeating: "x", count: APIKeys.maxNameLength + 1)] {
            await #expect(throws: APIKeyError.invalidName(bad)) { try await keys.create(name: bad) }
        }
        #expect(try await store.apiKeyCount() == 3)
    }

    @Test("APIKeys on the SQL store: listed oldest first, revoked by id or by a name only one valid key has, once", arguments: storeBackends)
    func registry(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (store: SQLVerificationStore, _: TestDatabase) async throws in
            try await Self.exercise(store)
        }
    }

    @Test("Authorization: the Bearer token whatever the scheme's case, without the spaces and tabs around it; any other scheme, or none, is no token")
    func bearerTokenParsing() {
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer vg_abc") == "vg_abc")
        #expect(APIKeyMiddleware.bearerToken(in: "bEaReR vg_abc") == "vg_abc")
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer  \tvg_abc \t ") == "vg_abc")
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer é ü") == "é ü")
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer    ") == "")
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer ") == nil)
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer") == nil)
        #expect(APIKeyMiddleware.bearerToken(in: "Basic dmc6YWJj") == nil)
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer\tvg_abc") == nil)
        #expect(APIKeyMiddleware.bearerToken(in: "Bearer@vg_abc") == nil)
        #expect(APIKeyMiddleware.bearerToken(in: "bearer\u{0}vg_abc") == nil)
        #expect(APIKeyMiddleware.bearerToken(in: "Béarer vg_abc") == nil)
    }

    @Test("APIKeys on MemoryStore: the same semantics")
    func registryInMemory() async throws {
        try await Self.exercise(MemoryStore())
    }

    @Test("a revoked key is refused with 401 by a node that never saw it, and within the cache TTL by nodes that had it cached", arguments: storeBackends)
    func revokedOnEveryNode(backend: SQLStoreBackend) async throws {
        try await withTestStore(backend) { (storeA: SQLVerificationStore, database: TestDatabase) async throws in
            let storeB = try await database.open()
            let storeC = try await database.open()
            do {
                let clock = ManualClock()
                var logger = Logger(label: "api-key-tests")
                logger.logLevel = .critical
                let nodes = [storeA, storeB, storeC].map {
                    Core(configuration: CoreConfiguration(), store: $0, secret: Array(repeating: 9, count: 32), logger: logger, clock: clock)
                }
                let keys = APIKeys(store: storeA, clock: clock)
                let victim = try await keys.create(name: "leaked").key
                let other = try await keys.create(name: "kept").key
                let apps = nodes.map { Application(router: $0.router()) }
                try await apps[0].test(.router) { a in
                    try await apps[1].test(.router) { b in
                        try await apps[2].test(.router) { c in
                            // A and B use the key (and cache it); an unknown id is 404 for a valid key.
                            #expect(try await Self.get(a, key: victim).status == 404)
                            #expect(try await Self.get(b, key: victim).status == 404)

                            // Revoked in the store, as `verigate api-key revoke` does beside the nodes.
                            try await APIKeys(store: storeC, clock: clock).revoke("leaked")

                            // C never cached it: refused at once.
                            let fresh = try await Self.get(c, key: victim)
                            #expect(fresh.status == 401)
                            #expect(fresh.code == "unauthorized")
                            #expect(try await Self.start(c, key: victim) == 401)

                            // A and B ask the store again once their entry is cacheTTL old.
                            clock.advance(APIKeys.cacheTTL)
                            for node in [a, b] {
                                #expect(try await Self.get(node, key: victim).status == 401)
                                #expect(try await Self.start(node, key: victim) == 401)
                                // The other key still works: the refusal is the revocation's.
                                #expect(try await Self.get(node, key: other).status == 404)
                            }
                            #expect(try await Self.get(c, key: other).status == 404)
                        }
                    }
                }
            } catch {
                try? await storeB.shutdown()
                try? await storeC.shutdown()
                throw error
            }
            try await storeB.shutdown()
            try await storeC.shutdown()
        }
    }

    /// GET of an unknown verification with `key`: 404 when the key is valid, 401 when not.
    static func get(_ client: some TestClientProtocol, key: String) async throws -> (status: Int, code: String?) {
        try await client.execute(uri: "/v1/verifications/VEunknown", method: .get, headers: [.authorization: "Bearer \(key)"]) { r in
            (Int(r.status.code), r.body.json["code"] as? String)
        }
    }

    /// POST /v1/verifications (a start) with `key`; its status.
    static func start(_ client: some TestClientProtocol, key: String) async throws -> Int {
        try await client.execute(uri: "/v1/verifications", method: .post,
                                 headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
                                 body: ByteBuffer(string: #"{"to":"+886912345678","channel":"sms"}"#)) { Int($0.status.code) }
    }
}
