import ABNF
import Foundation
import Verification

/// The API keys of a deployment: created, listed, revoked and authenticated over an
/// `APIKeyStore`, without the rest of the core (`verigate api-key` opens only the store).
/// A key is "vg_" + 40 base-32 characters (`Secrets.makeAPIKey`); the store keeps its SHA-256
/// only, so a key is shown once, when created. Bearer tokens: RFC 6750 §2.1.
public struct APIKeys: Sendable {
    /// Where the keys are kept.
    public let store: any APIKeyStore
    /// Time of creation and revocation.
    let clock: any VerificationClock

    /// The keys of `store`; `clock` dates creations and revocations.
    public init(store: any APIKeyStore, clock: any VerificationClock = SystemClock()) {
        self.store = store
        self.clock = clock
    }

    /// How long a node trusts a key it found valid before asking the store again
    /// (`APIKeyMiddleware`): the longest a revoked key still passes on a node that used it.
    public static let cacheTTL: Double = 5

    /// The longest name a key may have (names are shown in `verigate api-key list`).
    public static let maxNameLength = 100

    /// Stores a new key named `name` and returns it with its record; only its SHA-256 is kept.
    /// Throws `APIKeyError.invalidName` for an empty, over-long or control-character name.
    public func create(name: String, key: String = Secrets.makeAPIKey()) async throws -> (key: String, record: APIKeyRecord) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= Self.maxNameLength,
              !trimmed.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) else {
            throw APIKeyError.invalidName(name)
        }
        let id = "AK" + SystemRandomSource().bytes(8).hexEncoded
        let record = APIKeyRecord(id: id, name: trimmed, sha256: Secrets.sha256(key), createdAt: clock.now())
        try await store.insertAPIKey(record)
        return (key, record)
    }

    /// Creates a key named "default" when the store has none (revoked ones count), and returns it
    /// to be printed once; nil when keys exist. Revoking every key therefore does not make the
    /// next start print a new one.
    public func bootstrap() async throws -> String? {
        guard try await store.apiKeyCount() == 0 else { return nil }
        return try await create(name: "default").key
    }

    /// Every key, revoked ones included, oldest first (records only: no key is recoverable).
    public func list() async throws -> [APIKeyRecord] {
        try await store.apiKeys()
    }

    /// Revokes the key whose id is `idOrName`, else the one valid key named `idOrName`, and returns
    /// its record as revoked. Throws `APIKeyError.notFound`, `.ambiguousName` (several valid keys
    /// have that name: revoke by id) or `.alreadyRevoked`. Every node refuses the key within
    /// `cacheTTL` seconds.
    @discardableResult
    public func revoke(_ idOrName: String) async throws -> APIKeyRecord {
        let keys = try await store.apiKeys()
        let record: APIKeyRecord
        if let byID = keys.first(where: { $0.id == idOrName }) {
            record = byID
        } else {
            let named = keys.filter { $0.name == idOrName }
            let valid = named.filter { $0.revokedAt == nil }
            switch (valid.count, named.first) {
            case (0, nil): throw APIKeyError.notFound(idOrName)
            case (0, let revoked?): throw APIKeyError.alreadyRevoked(revoked)
            case (1, _): record = valid[0]
            default: throw APIKeyError.ambiguousName(idOrName, ids: valid.map(\.id))
            }
        }
        guard record.revokedAt == nil else { throw APIKeyError.alreadyRevoked(record) }
        let now = clock.now()
        guard try await store.revokeAPIKey(id: record.id, at: now) else {
            // Revoked by someone else between the read and the write.
            throw APIKeyError.alreadyRevoked(try await store.apiKeys().first { $0.id == record.id } ?? record)
        }
        var revoked = record
        revoked.revokedAt = now
        return revoked
    }

    /// The valid key presented as `token`: its record, or nil when no key has that SHA-256 or the
    /// key is revoked.
    public func authenticate(_ token: String) async throws -> APIKeyRecord? {
        guard let record = try await store.apiKey(sha256: Secrets.sha256(token)), record.revokedAt == nil else { return nil }
        return record
    }
}

/// Why an `APIKeys` operation was refused, said in one sentence.
public enum APIKeyError: Error, Equatable, CustomStringConvertible, Sendable {
    /// No key has this id or name.
    case notFound(String)
    /// Several valid keys have this name; their ids.
    case ambiguousName(String, ids: [String])
    /// The key was revoked already (its record, with the first revocation's time).
    case alreadyRevoked(APIKeyRecord)
    /// A name that is empty, longer than `APIKeys.maxNameLength` or holds control characters.
    case invalidName(String)

    /// The refusal in one sentence.
    public var description: String {
        switch self {
        case .notFound(let idOrName):
            "no API key has the id or name \"\(idOrName)\" (see verigate api-key list)"
        case .ambiguousName(let name, let ids):
            "\(ids.count) valid API keys are named \"\(name)\" (\(ids.joined(separator: ", "))): revoke one by its id"
        case .alreadyRevoked(let record):
            "API key \(record.id) (\"\(record.name)\") was revoked already"
        case .invalidName(let name):
            "an API key name must be 1 to \(APIKeys.maxNameLength) characters without control characters, not \(name.debugDescription)"
        }
    }
}
