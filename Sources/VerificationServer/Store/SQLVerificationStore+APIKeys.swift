import Foundation
import SQLKit
import Verification

// API keys (APIKeyStore): only their SHA-256 is stored. A revoked key keeps its row with
// `revoked_at` set (migration 6), so verifications still name their key; `APIKeyMiddleware`
// refuses it.
extension SQLVerificationStore {
    /// `APIKeyStore.insertAPIKey(_:)`, in SQL.
    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        try await writer.withDatabase { db in
            try await db.raw(SQLStoreRows.insert(
                into: "api_keys", columns: SQLStoreRows.apiKeyColumns,
                values: [key.id, key.name, Data(key.sha256), SQLTime.micros(key.createdAt), SQLTime.micros(key.revokedAt)]
            )).run()
        }
    }

    /// `APIKeyStore.apiKey(sha256:)`, in SQL.
    public func apiKey(sha256: [UInt8]) async throws -> APIKeyRecord? {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT \(unsafeRaw: SQLStoreRows.apiKeyColumns.joined(separator: ", ")) FROM api_keys WHERE sha256 = \(bind: Data(sha256))
                """).first().map(SQLStoreRows.apiKey)
        }
    }

    /// Every key, revoked ones included, oldest first (then by id).
    public func apiKeys() async throws -> [APIKeyRecord] {
        try await reader.withDatabase { db in
            try await db.raw("""
                SELECT \(unsafeRaw: SQLStoreRows.apiKeyColumns.joined(separator: ", ")) FROM api_keys ORDER BY created_at, id
                """).all().map(SQLStoreRows.apiKey)
        }
    }

    /// Sets `revoked_at` if it is NULL, in one UPDATE … RETURNING: of two revocations racing on
    /// any node, one returns true and the first time stays.
    public func revokeAPIKey(id: String, at: Date) async throws -> Bool {
        try await writer.withDatabase { db in
            try await !db.raw("""
                UPDATE api_keys SET revoked_at = \(bind: SQLTime.micros(at)) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id
                """).all().isEmpty
        }
    }

    /// `APIKeyStore.apiKeyCount()`, in SQL.
    public func apiKeyCount() async throws -> Int {
        try await reader.withDatabase { db in
            Int(try await db.raw("SELECT COUNT(*) AS n FROM api_keys").first()?.decode(column: "n", as: Int64.self) ?? 0)
        }
    }
}
