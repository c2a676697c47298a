import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import Verification
@testable import VerificationServer

/// Issue 12 item 6: the text of SMSC receipts and Kannel answers can carry the start of the SMS,
/// i.e. the code. It reaches no event detail, `failure_reason`, webhook body or SSE stream.
enum ReportText {
    /// Checks that `code` is in none of the places a verification's outcome is shown, and that
    /// the report did reach them (so the check looked at something): the SSE text `sse`, the
    /// webhook `receiver` got, the API resource and the stored events.
    static func expectShownNowhere(_ code: String, t: TestCore, id: String, sse: String, receiver: Receiver,
                                   reportSays expected: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(code.count >= 4, sourceLocation: sourceLocation)
        let v = try await t.core.service.verification(id: id)
        #expect(v.status == .failed, sourceLocation: sourceLocation)
        let reason = v.failureReason ?? ""
        #expect(reason.contains(expected), "failure_reason: \(reason)", sourceLocation: sourceLocation)
        #expect(!reason.contains(code), "failure_reason: \(reason)", sourceLocation: sourceLocation)
        let events = try await t.core.service.events(id: id)
        #expect(events.contains { $0.detail?.contains(expected) == true }, "\(events)", sourceLocation: sourceLocation)
        for event in events { #expect(event.detail?.contains(code) != true, "event \(event.kind): \(event.detail ?? "")", sourceLocation: sourceLocation) }
        #expect(sse.contains(expected), "SSE: \(sse)", sourceLocation: sourceLocation)
        #expect(!sse.contains(code), "SSE: \(sse)", sourceLocation: sourceLocation)
        #expect(try await t.core.webhooks.deliverDue() >= 1, sourceLocation: sourceLocation)
        let bodies = receiver.hits.withLock { $0.map { String(decoding: $0.body, as: UTF8.self) } }
        #expect(bodies.contains { $0.contains(#""status":"failed""#) }, "\(bodies)", sourceLocation: sourceLocation)
        for body in bodies { #expect(!body.contains(code), "webhook: \(body)", sourceLocation: sourceLocation) }
    }
}

@Suite struct KannelReportTextTests {
    /// A Kannel in front of an SMPP SMSC puts the receipt, `text:` and all, in `%A`: a report of
    /// it fails the verification, and the code it quotes is shown nowhere.
    @Test func kannelAnswerQuotingTheCodeIsShownNowhere() async throws {
        let receiver = Receiver(script: [])
        try await Application(router: receiver.router()).test(.live) { hook async throws in
            let t = try await TestCore { $0.webhooks.allowPrivateAddresses = true }
            try await t.app().test(.router) { client in
                let body = #"{"to":"0975000888","channel":"sms","callback_url":"http://127.0.0.1:\#(hook.port!)/hook"}"#
                let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: ByteBuffer(string: body)) { r in
                    try #require(r.body.json["id"] as? String)
                }
                let code = try #require(t.sentCode(id))
                async let stream: String = client.execute(uri: "/v1/verifications/\(id)/events", method: .get, headers: t.auth) { r in
                    String(buffer: r.body)
                }
                while t.core.broker.subscriberCount == 0 { await Task.yield() }
                let token = t.core.kannelDLR.token(id: id, nonce: "m1")
                let quoting = [
                    // An SMPP receipt (stat and err kept, text dropped), a bare answer, an HTTP SMSC's echo.
                    ("8", "id:0A1 sub:001 dlvrd:000 submit date:2611281640 done date:2611281641 stat:ENROUTE err:000 text:Verigate: your verification code is \(code)"),
                    ("4", "Verigate: your verification code is \(code)"),
                    ("8", "ACK/\(code)/queued"),
                    ("16", "id:0A1 sub:001 dlvrd:000 submit date:2611281640 done date:2611281641 stat:REJECTD err:\(code) text:code is \(code)"),
                ]
                for (status, answer) in quoting {
                    let escaped = answer.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                    try await client.execute(uri: "/v1/sms/kannel/dlr?id=\(id)&m=m1&t=\(token)&status=\(status)&smsc=FAKE&answer=\(escaped)", method: .get) { r in
                        #expect(r.status == .noContent)
                    }
                }
                let sse = try await stream
                try await ReportText.expectShownNowhere(code, t: t, id: id, sse: sse, receiver: receiver, reportSays: "kannel 16 rejected by SMSC smsc=FAKE answer=stat:REJECTD")
                let events = try await t.core.service.events(id: id).compactMap(\.detail)
                #expect(events.contains("in_progress: kannel 8 accepted by SMSC smsc=FAKE answer=stat:ENROUTE err:000"), "\(events)")
                #expect(events.contains("in_progress: kannel 4 queued on SMSC smsc=FAKE"), "a digit-bearing answer is left out: \(events)")
                #expect(events.contains("in_progress: kannel 8 accepted by SMSC smsc=FAKE answer=ACK/"), "\(events)")
            }
        }
    }

    @Test(arguments: [
        ("id:1 stat:DELIVRD err:000 text:Your code 123456", "stat:DELIVRD err:000"),
        ("id:1 stat:UNDELIV text:code err:123456", "stat:UNDELIV"),
        ("NACK/0x00000045/Invalid source address", "NACK/0x00000045"),
        ("NACK/123456/x", "NACK/"),
        ("ACK/", "ACK/"),
        ("0: Accepted for delivery", "Accepted for delivery"),
        ("Authorization failed for sendsms", "Authorization failed for sendsms"),
        ("Your code is 123456", nil),
        ("3: Queued 123456", nil),
        ("", nil),
    ] as [(String, String?)])
    func answerSummary(answer: String, shown: String?) {
        #expect(KannelDLR.answerSummary(answer) == shown)
    }
}
