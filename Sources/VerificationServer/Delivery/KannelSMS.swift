import ABNF
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SMPP
import Synchronization
import Verification

/// The `kannel` SMS driver: one HTTP GET to the smsbox's `sendsms` interface per message (Kannel
/// user guide, "SMS Push (send-sms) CGI interface"). Texts outside GSM 03.38 go as UCS-2
/// (`coding=2`, the text in UTF-8 with `charset=UTF-8`, which Kannel converts). Each message asks
/// for delivery reports at a `dlr-url` of the core carrying a per-message token (`KannelDLR`).
/// Kannel answers 202 `0: Accepted for delivery` (or 200 `Sent.`); anything else is a refusal.
public final class KannelSMS: SMSSender {
    /// The smsbox, its user and the report settings.
    public let configuration: KannelConfiguration
    let templates: SMSTemplates
    let dlr: KannelDLR
    let client: HTTPClient
    let logger: Logger
    let ledger: SentSMSLedger?
    /// The core's own base URL once its HTTP server runs (used when `callbackBaseURL` is nil).
    let listening = Mutex<String?>(nil)

    /// A driver; `ledger` (when reports are required: the report names its verification itself)
    /// learns of every message that waits for one.
    public init(configuration: KannelConfiguration, templates: SMSTemplates, dlr: KannelDLR, ledger: SentSMSLedger? = nil,
                client: HTTPClient = .shared, logger: Logger) {
        self.ledger = ledger?.reportTimeout == nil ? nil : ledger
        self.configuration = configuration
        self.templates = templates
        self.dlr = dlr
        self.client = client
        self.logger = logger
    }

    /// Tells the driver where the core listens (for `dlr-url` when no callback base URL is configured).
    public func serverListening(baseURL: String) {
        listening.withLock { $0 = baseURL }
    }

    /// The `sendsms` URL for `message` (its text rendered), with `nonce` naming this message in delivery reports.
    public func sendURL(_ message: CodeMessage, nonce: String) -> String {
        let text = templates.render(message)
        var query: [(String, String)] = [
            ("username", configuration.username), ("password", configuration.password),
            ("to", message.to.e164), ("text", text),
        ]
        if !configuration.from.isEmpty { query.append(("from", configuration.from)) }
        if SMSEncoder.needsUCS2(text) { query += [("coding", "2"), ("charset", "UTF-8")] }
        if configuration.dlrMask != 0, let base = configuration.callbackBaseURL ?? listening.withLock({ $0 }) {
            query += [("dlr-mask", String(configuration.dlrMask)), ("dlr-url", dlr.url(base: base, id: message.verificationID, nonce: nonce))]
        }
        let separator = configuration.sendsmsURL.contains("?") ? "&" : "?"
        return configuration.sendsmsURL + separator + query.map { "\($0)=\(Self.escape($1))" }.joined(separator: "&")
    }

    /// `SMSSender`: one `sendsms` GET; a non-2xx answer or no answer is a `DeliveryFailure` with Kannel's reason.
    public func send(_ message: CodeMessage) async throws {
        let nonce = SystemRandomSource().bytes(8).hexEncoded
        let request = HTTPClientRequest(url: sendURL(message, nonce: nonce))
        // Before the request: the report may come back before Kannel's answer does.
        let waitsForReport = configuration.dlrMask & 3 != 0 && request.url.contains("dlr-url=")
        if waitsForReport, let ledger {
            do { try await ledger.sent(nonce, verificationID: message.verificationID) } catch {
                logger.warning("sms.sent_not_recorded", metadata: ["driver": "kannel", "verification": .string(message.verificationID), "error": "\(error)"])
            }
        }
        let status: UInt
        let body: String
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.timeout * 1000)))
            status = response.status.code
            body = String(buffer: try await response.body.collect(upTo: 4096))
        } catch {
            if waitsForReport { _ = try? await ledger?.settled(nonce) }
            logger.warning("sms.kannel_unreachable", metadata: ["verification": .string(message.verificationID), "error": "\(error)"])
            throw DeliveryFailure(reason: "kannel unreachable: \(error)")
        }
        let answer = body.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)
        guard (200..<300).contains(Int(status)) else {
            if waitsForReport { _ = try? await ledger?.settled(nonce) }
            logger.warning("sms.kannel_refused", metadata: ["verification": .string(message.verificationID), "status": "\(status)", "answer": "\(answer)"])
            // Kannel's answer, only when it cannot be the message (`KannelDLR.answerSummary`).
            throw DeliveryFailure(reason: "kannel refused (HTTP \(status))" + (KannelDLR.answerSummary(String(answer)).map { ": \($0)" } ?? ""))
        }
        logger.info("sms.sent", metadata: ["driver": "kannel", "verification": .string(message.verificationID), "to": .string(message.to.e164), "m": .string(nonce)])
    }

    /// Percent-encodes a query value: everything but RFC 3986 unreserved characters.
    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
