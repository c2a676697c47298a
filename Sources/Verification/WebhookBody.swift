import Foundation

/// The JSON body of a status-change webhook (never a code).
public enum WebhookBody {
    struct Body: Encodable {
        var id: String
        var event: String
        var status: String
        var channel: String
        var to: String
        var at: String
        var detail: String?
    }

    /// Body for `event` of `verification`, keys sorted so the signed bytes are stable.
    public static func json(_ v: Verification, event: VerificationEvent) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = Body(id: v.id, event: event.kind.rawValue, status: v.status.rawValue, channel: v.channel.rawValue,
                        to: v.to, at: event.at.formatted(.iso8601), detail: event.detail)
        return String(decoding: (try? encoder.encode(body)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
