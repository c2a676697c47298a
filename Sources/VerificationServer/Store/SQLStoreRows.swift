import Foundation
import SQLKit
import Verification
import enum Verification.VerificationMethod

/// Instants as stored: `BIGINT` microseconds since 1970-01-01 UTC (see `SQLStoreMigration`).
enum SQLTime {
    /// `date` rounded to the microsecond.
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func micros(_ date: Date?) -> Int64? {
        date.map { micros($0) }
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    static func date(_ micros: Int64?) -> Date? {
        micros.map { date($0) }
    }
}

/// Column lists and row ↔ value mapping of the store's tables.
enum SQLStoreRows {
    typealias Value = any Encodable & Sendable

    // MARK: verifications

    static let verificationColumns = [
        "id", "to_number", "region", "channel", "status", "locale", "code_length", "code_mac", "created_at",
        "updated_at", "expires_at", "last_sent_at", "send_count", "check_attempts", "system_number",
        "callback_url", "api_key_id", "failure_reason", "version",
    ]

    static let verificationSelect = "SELECT " + verificationColumns.joined(separator: ", ") + " FROM verifications"

    /// Values in the order of `verificationColumns`.
    static func values(_ v: Verification) -> [Value] {
        [
            v.id, v.to, v.region, v.channel.rawValue, v.status.rawValue, v.locale, Int64(v.codeLength),
            v.codeMAC.map { Data($0) }, SQLTime.micros(v.createdAt), SQLTime.micros(v.updatedAt),
            SQLTime.micros(v.expiresAt), SQLTime.micros(v.lastSentAt), Int64(v.sendCount), Int64(v.checkAttempts),
            v.systemNumber, v.callbackURL, v.apiKeyID, v.failureReason, Int64(v.version),
        ]
    }

    static func verification(_ row: any SQLRow) throws -> Verification {
        let channelRaw = try row.decode(column: "channel", as: String.self)
        guard let channel = VerificationMethod(rawValue: channelRaw) else {
            throw SQLStoreError.invalidStoredValue(column: "channel", value: channelRaw)
        }
        var v = Verification(
            id: try row.decode(column: "id", as: String.self),
            to: try row.decode(column: "to_number", as: String.self),
            region: try row.decode(column: "region", as: String.self),
            channel: channel,
            status: try status(row, column: "status"),
            locale: try row.decode(column: "locale", as: String.self),
            codeLength: Int(try row.decode(column: "code_length", as: Int64.self)),
            codeMAC: try row.decode(column: "code_mac", as: Data?.self).map { [UInt8]($0) },
            createdAt: SQLTime.date(try row.decode(column: "created_at", as: Int64.self)),
            expiresAt: SQLTime.date(try row.decode(column: "expires_at", as: Int64.self)),
            lastSentAt: SQLTime.date(try row.decode(column: "last_sent_at", as: Int64?.self)),
            sendCount: Int(try row.decode(column: "send_count", as: Int64.self)),
            checkAttempts: Int(try row.decode(column: "check_attempts", as: Int64.self)),
            systemNumber: try row.decode(column: "system_number", as: String?.self),
            callbackURL: try row.decode(column: "callback_url", as: String?.self),
            apiKeyID: try row.decode(column: "api_key_id", as: String?.self),
            failureReason: try row.decode(column: "failure_reason", as: String?.self),
            version: Int(try row.decode(column: "version", as: Int64.self))
        )
        v.updatedAt = SQLTime.date(try row.decode(column: "updated_at", as: Int64.self))
        return v
    }

    static func status(_ row: any SQLRow, column: String) throws -> VerificationStatus {
        let raw = try row.decode(column: column, as: String.self)
        guard let status = VerificationStatus(rawValue: raw) else {
            throw SQLStoreError.invalidStoredValue(column: column, value: raw)
        }
        return status
    }

    // MARK: audit_events

    static func event(_ row: any SQLRow) throws -> VerificationEvent {
        let kindRaw = try row.decode(column: "kind", as: String.self)
        guard let kind = VerificationEvent.Kind(rawValue: kindRaw) else {
            throw SQLStoreError.invalidStoredValue(column: "kind", value: kindRaw)
        }
        return VerificationEvent(
            verificationID: try row.decode(column: "verification_id", as: String.self),
            kind: kind,
            status: try status(row, column: "status"),
            at: SQLTime.date(try row.decode(column: "at", as: Int64.self)),
            detail: try row.decode(column: "detail", as: String?.self)
        )
    }

    // MARK: webhook_deliveries

    static let webhookColumns = [
        "id", "verification_id", "url", "body", "created_at", "attempts", "next_attempt_at", "delivered_at",
        "abandoned_at", "last_error",
    ]

    /// Values in the order of `webhookColumns`.
    static func values(_ w: WebhookDelivery) -> [Value] {
        [
            w.id, w.verificationID, w.url, w.body, SQLTime.micros(w.createdAt), Int64(w.attempts),
            SQLTime.micros(w.nextAttemptAt), SQLTime.micros(w.deliveredAt), SQLTime.micros(w.abandonedAt), w.lastError,
        ]
    }

    static func webhook(_ row: any SQLRow) throws -> WebhookDelivery {
        var w = WebhookDelivery(
            id: try row.decode(column: "id", as: String.self),
            verificationID: try row.decode(column: "verification_id", as: String.self),
            url: try row.decode(column: "url", as: String.self),
            body: try row.decode(column: "body", as: String.self),
            createdAt: SQLTime.date(try row.decode(column: "created_at", as: Int64.self))
        )
        w.attempts = Int(try row.decode(column: "attempts", as: Int64.self))
        w.nextAttemptAt = SQLTime.date(try row.decode(column: "next_attempt_at", as: Int64.self))
        w.deliveredAt = SQLTime.date(try row.decode(column: "delivered_at", as: Int64?.self))
        w.abandonedAt = SQLTime.date(try row.decode(column: "abandoned_at", as: Int64?.self))
        w.lastError = try row.decode(column: "last_error", as: String?.self)
        return w
    }

    // MARK: api_keys

    /// The columns `apiKey(_:)` reads.
    static let apiKeyColumns = ["id", "name", "sha256", "created_at", "revoked_at"]

    static func apiKey(_ row: any SQLRow) throws -> APIKeyRecord {
        APIKeyRecord(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            sha256: [UInt8](try row.decode(column: "sha256", as: Data.self)),
            createdAt: SQLTime.date(try row.decode(column: "created_at", as: Int64.self)),
            revokedAt: SQLTime.date(try row.decode(column: "revoked_at", as: Int64?.self))
        )
    }

    // MARK: statements

    /// `INSERT INTO table (columns) VALUES (binds)`.
    static func insert(into table: String, columns: [String], values: [Value]) -> SQLQueryString {
        "INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: columns.joined(separator: ", "))) VALUES (\(binds: values))"
    }

    /// `INSERT … ON CONFLICT (id) DO UPDATE SET every other column` (SQLite ≥ 3.24 and PostgreSQL).
    static func upsert(into table: String, columns: [String], values: [Value]) -> SQLQueryString {
        var query = insert(into: table, columns: columns, values: values)
        let updates = columns.filter { $0 != "id" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        query.appendLiteral(" ON CONFLICT (id) DO UPDATE SET \(updates)")
        return query
    }
}
