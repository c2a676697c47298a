import ABNF
import Crypto
import Foundation
import SMPP
import Verification

/// Kannel delivery reports (Kannel user guide, "Delivery reports"): the `dlr-url` the core gives
/// with each message, its authentication, and the meaning of the `%d` status Kannel fills in.
///
/// The URL is `<base>/v1/sms/kannel/dlr?id=<verification>&m=<message nonce>&t=<token>&status=%d&smsc=%i&answer=%A`,
/// where `t` is HMAC-SHA256(key, id ‖ "|" ‖ m) truncated to 128 bits in hex: only the core can
/// make one, so nobody else can fail or annotate a verification through this route.
public struct KannelDLR: Sendable {
    /// The path of the core's delivery-report route.
    public static let path = "/v1/sms/kannel/dlr"

    let key: SymmetricKey

    /// A signer with a key derived from the server secret for this purpose only.
    public init(key: [UInt8]) { self.key = SymmetricKey(data: key) }

    /// The token of message `nonce` of verification `id`.
    public func token(id: String, nonce: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id)|\(nonce)".utf8), using: key)
        return mac.prefix(16).hexEncoded
    }

    /// True when `token` is the token of (`id`, `nonce`); compared in constant time.
    public func verify(id: String, nonce: String, token: String) -> Bool {
        let expected = Array(self.token(id: id, nonce: nonce).utf8)
        let given = Array(token.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The `dlr-url` for one message, with Kannel's escapes (`%d` status, `%i` smsc-id, `%A` SMSC answer) left for Kannel.
    public func url(base: String, id: String, nonce: String) -> String {
        let base = base.hasSuffix("/") ? String(base.dropLast()) : base
        return "\(base)\(Self.path)?id=\(id)&m=\(nonce)&t=\(token(id: id, nonce: nonce))&status=%d&smsc=%i&answer=%A"
    }

    /// What Kannel's `%d` status says: 1 delivered to phone, 2 non-delivered to phone, 4 queued on
    /// the SMSC, 8 delivered to (accepted by) the SMSC, 16 non-delivered to (rejected by) the SMSC.
    public static func report(status: Int, smsc: String?, answer: String?) -> DeliveryReport {
        let outcome: DeliveryReport.Outcome
        let name: String
        switch status {
        case 1: (outcome, name) = (.delivered, "delivered to phone")
        case 2: (outcome, name) = (.failed, "not delivered to phone")
        case 4: (outcome, name) = (.inProgress, "queued on SMSC")
        case 8: (outcome, name) = (.inProgress, "accepted by SMSC")
        case 16: (outcome, name) = (.failed, "rejected by SMSC")
        default: (outcome, name) = (.inProgress, "unknown status")
        }
        var detail = "kannel \(status) \(name)"
        if let smsc, !smsc.isEmpty { detail += " smsc=\(smsc.prefix(32))" }
        if let answer, let summary = answerSummary(answer) { detail += " answer=\(summary)" }
        return DeliveryReport(outcome: outcome, detail: detail)
    }

    /// What of a Kannel answer (the SMSC's answer `%A` in a report, or smsbox's answer to
    /// `sendsms`) may be shown in events and `failure_reason`: never text that could be the
    /// message. For an SMPP SMSC `%A` is the receipt, whose `text:` is the start of the SMS, i.e.
    /// the code. A receipt (SMPP 3.4 Appendix B) gives its `stat` and `err`; `ACK`/`NACK` their
    /// word and `0x%08lx` error code (`NACK/0x00000045`); other text is shown only when, past a leading
    /// `N: ` status, it has no digit (codes are digits: Kannel's own refusals such as
    /// `Authorization failed for sendsms` have none); anything else is not shown.
    public static func answerSummary(_ answer: String) -> String? {
        let answer = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !answer.isEmpty else { return nil }
        if let receipt = try? DeliveryReceipt.parse(answer) {
            return "stat:\(receipt.state.rawValue)" + (receipt.error.isEmpty ? "" : " err:\(receipt.error)")
        }
        let parts = answer.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        if let word = parts.first, ["ACK", "NACK"].contains(word.uppercased()) {
            guard parts.count > 1 else { return String(word) }
            // Kannel writes the SMPP command_status as 0x%08lx; nothing else is kept.
            let code = parts[1].count == 10 && parts[1].lowercased().hasPrefix("0x") && parts[1].dropFirst(2).allSatisfy({ $0.isASCII && $0.isHexDigit }) ? parts[1] : ""
            return "\(word)/\(code)"
        }
        var text = Substring(answer)
        if let colon = text.firstIndex(of: ":"), !text[..<colon].isEmpty, text[..<colon].allSatisfy(\.isNumber) {
            text = text[text.index(after: colon)...].drop { $0 == " " }
        }
        guard !text.isEmpty, text.count <= 120, !text.contains(where: \.isNumber) else { return nil }
        return String(text)
    }
}
