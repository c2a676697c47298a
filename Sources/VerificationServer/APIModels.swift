import Foundation
import NIOCore
import Verification

/// `POST /v1/verifications` body.
struct StartBody: Decodable {
    var to: String
    /// One channel; or leave it out and give `channels`.
    var channel: String?
    /// Channels in order of preference: the first is used, the next ones when delivery fails.
    var channels: [String]?
    var locale: String?
    var codeLength: Int?
    var callbackURL: String?
    /// Return a hosted page `url` for the user.
    var hosted: Bool?
    /// With `hosted`: where the page sends the user on approval, with `verigate_result`.
    var redirectURL: String?

    enum CodingKeys: String, CodingKey {
        case to, channel, channels, locale, hosted
        case codeLength = "code_length"
        case callbackURL = "callback_url"
        case redirectURL = "redirect_url"
    }

    /// Decodes the body; an explicit `null` is refused like any other wrong type (the schema in
    /// openapi.yaml allows no null, and a null `redirect_url` once passed as "absent").
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        for key in c.allKeys where try c.decodeNil(forKey: key) {
            throw DecodingError.typeMismatch(Any.self, .init(codingPath: c.codingPath + [key], debugDescription: "null"))
        }
        to = try c.decode(String.self, forKey: .to)
        channel = try c.decodeIfPresent(String.self, forKey: .channel)
        channels = try c.decodeIfPresent([String].self, forKey: .channels)
        locale = try c.decodeIfPresent(String.self, forKey: .locale)
        codeLength = try c.decodeIfPresent(Int.self, forKey: .codeLength)
        callbackURL = try c.decodeIfPresent(String.self, forKey: .callbackURL)
        hosted = try c.decodeIfPresent(Bool.self, forKey: .hosted)
        redirectURL = try c.decodeIfPresent(String.self, forKey: .redirectURL)
    }
}

/// `POST /v1/verifications/{id}/checks` body.
struct CheckBody: Decodable {
    var code: String
}

/// A verification as the API shows it: never the code (except `code` for the dtmf channels,
/// once, in the start answer).
struct VerificationResource: Encodable {
    var id: String
    var to: String
    var channel: String
    var status: String
    var locale: String
    var createdAt: Date
    var updatedAt: Date
    var expiresAt: Date
    var sendCount: Int
    var checkAttempts: Int
    var attemptsRemaining: Int
    var systemNumber: String?
    var code: String?
    var failureReason: String?
    var valid: Bool?
    /// The hosted page (start with `hosted: true` only).
    var url: String?

    enum CodingKeys: String, CodingKey {
        case id, to, channel, status, locale, code, valid, url
        case createdAt = "created_at", updatedAt = "updated_at", expiresAt = "expires_at"
        case sendCount = "send_count", checkAttempts = "check_attempts", attemptsRemaining = "attempts_remaining"
        case systemNumber = "system_number", failureReason = "failure_reason"
    }

    init(_ v: Verification, maxAttempts: Int, code: String? = nil, valid: Bool? = nil) {
        id = v.id
        to = v.to
        channel = v.channel.rawValue
        status = v.status.rawValue
        locale = v.locale
        createdAt = v.createdAt
        updatedAt = v.updatedAt
        expiresAt = v.expiresAt
        sendCount = v.sendCount
        checkAttempts = v.checkAttempts
        attemptsRemaining = max(0, maxAttempts - v.checkAttempts)
        systemNumber = v.systemNumber
        self.code = code
        failureReason = v.failureReason
        self.valid = valid
    }

    /// The resource as `JSONEncoder.api` encodes it, written directly (`JSONObjectWriter`): the keys
    /// in its sorted order.
    var json: ByteBuffer {
        var writer = JSONObjectWriter()
        writer.field("attempts_remaining", attemptsRemaining)
        writer.field("channel", channel)
        writer.field("check_attempts", checkAttempts)
        writer.field("code", code)
        writer.field("created_at", createdAt)
        writer.field("expires_at", expiresAt)
        writer.field("failure_reason", failureReason)
        writer.field("id", id)
        writer.field("locale", locale)
        writer.field("send_count", sendCount)
        writer.field("status", status)
        writer.field("system_number", systemNumber)
        writer.field("to", to)
        writer.field("updated_at", updatedAt)
        writer.field("url", url)
        writer.field("valid", valid)
        return writer.finish()
    }
}

/// One SSE message: a status change or other event of a verification.
struct EventResource: Encodable {
    var id: String
    var event: String
    var status: String
    var at: Date
    var detail: String?

    init(_ e: VerificationEvent) {
        id = e.verificationID
        event = e.kind.rawValue
        status = e.status.rawValue
        at = e.at
        detail = e.detail
    }
}

extension JSONEncoder {
    /// The API's encoder: ISO 8601 dates, sorted keys.
    static let api: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}
