import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Testing
import Verification
@testable import VerificationServer

/// The Kannel driver's URLs and the delivery-report route, without a Kannel.
@Suite struct KannelDriverTests {
    let dlr = KannelDLR(key: Array(repeating: 3, count: 32))

    func driver(callback: String? = "http://core.example:8080") -> KannelSMS {
        KannelSMS(configuration: KannelConfiguration(username: "tester", password: "p&ss", from: "Verigate", callbackBaseURL: callback),
                  templates: SMSTemplates(), dlr: dlr, logger: Logger(label: "test"))
    }

    func message(locale: String) throws -> CodeMessage {
        CodeMessage(verificationID: "VEabc", to: try PhoneNumber(parsing: "0975000888", defaultRegion: "TW"), channel: .sms,
                    code: "123456", locale: locale, expiresIn: 600)
    }

    func query(_ url: String) -> [String: String] {
        let components = URLComponents(string: url)
        return Dictionary((components?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
    }

    @Test func englishGoesAsGSMTextWithDeliveryReportURL() throws {
        let url = driver().sendURL(try message(locale: "en"), nonce: "n1")
        #expect(url.hasPrefix("http://127.0.0.1:13013/cgi-bin/sendsms?"))
        let q = query(url)
        #expect(q["username"] == "tester")
        #expect(q["password"] == "p&ss", "query values are percent-encoded")
        #expect(q["to"] == "+886975000888")
        #expect(q["from"] == "Verigate")
        #expect(q["text"] == "Verigate: your verification code is 123456. It expires in 10 minutes. Do not share it.")
        #expect(q["coding"] == nil)
        #expect(q["dlr-mask"] == "27")
        let dlrURL = try #require(q["dlr-url"])
        #expect(dlrURL == "http://core.example:8080/v1/sms/kannel/dlr?id=VEabc&m=n1&t=\(dlr.token(id: "VEabc", nonce: "n1"))&status=%d&smsc=%i&answer=%A")
    }

    @Test func chineseGoesAsUCS2() throws {
        let q = query(driver().sendURL(try message(locale: "zh-TW"), nonce: "n2"))
        #expect(q["coding"] == "2")
        #expect(q["charset"] == "UTF-8")
        #expect(q["text"] == "Verigate：您的驗證碼是 123456，10 分鐘內有效。請勿告訴他人。")
    }

    @Test func noCallbackURLYetMeansNoDeliveryReports() throws {
        let d = driver(callback: nil)
        #expect(query(d.sendURL(try message(locale: "en"), nonce: "n")).keys.contains("dlr-url") == false)
        d.serverListening(baseURL: "http://127.0.0.1:4000")
        #expect(query(d.sendURL(try message(locale: "en"), nonce: "n"))["dlr-url"]?.hasPrefix("http://127.0.0.1:4000/v1/sms/kannel/dlr?") == true)
    }

    @Test func unreachableKannelIsADeliveryFailure() async throws {
        // A port nobody listens on: bound, then closed.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        let d = KannelSMS(configuration: KannelConfiguration(sendsmsURL: "http://127.0.0.1:\(port)/cgi-bin/sendsms", username: "u", password: "secret-pw", timeout: 1),
                          templates: SMSTemplates(), dlr: dlr, logger: Logger(label: "test"))
        do {
            try await d.send(try message(locale: "en"))
            Issue.record("must throw")
        } catch let failure as DeliveryFailure {
            #expect(failure.reason.hasPrefix("kannel unreachable: "))
            #expect(!failure.reason.contains("secret-pw"), "the password never shows in a reason")
        }
    }

    @Test func tokensBindVerificationAndMessage() {
        let t = dlr.token(id: "VE1", nonce: "a")
        #expect(t.count == 32)
        #expect(dlr.verify(id: "VE1", nonce: "a", token: t))
        #expect(!dlr.verify(id: "VE2", nonce: "a", token: t))
        #expect(!dlr.verify(id: "VE1", nonce: "b", token: t))
        #expect(!dlr.verify(id: "VE1", nonce: "a", token: String(t.dropLast())))
        #expect(!KannelDLR(key: Array(repeating: 4, count: 32)).verify(id: "VE1", nonce: "a", token: t))
    }

    @Test(arguments: [(1, DeliveryReport.Outcome.delivered), (2, .failed), (4, .inProgress), (8, .inProgress), (16, .failed), (99, .inProgress)])
    func kannelStatusMeaning(status: Int, outcome: DeliveryReport.Outcome) {
        #expect(KannelDLR.report(status: status, smsc: "FAKE", answer: nil).outcome == outcome)
    }

    @Test func otpOriginAddsTheLastLine() throws {
        let text = SMSTemplates(otpOrigin: "example.com").render(try message(locale: "en"))
        #expect(text.hasSuffix("Do not share it.\n\n@example.com #123456"))
    }

    @Test func deliveryReportRouteRecordsAndAuthenticates() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                              body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in
                try #require(r.body.json["id"] as? String)
            }
            let token = t.core.kannelDLR.token(id: id, nonce: "m1")
            try await client.execute(uri: "/v1/sms/kannel/dlr?id=\(id)&m=m1&t=\(token)&status=8&smsc=FAKE&answer=ACK%2F", method: .get) { r in
                #expect(r.status == .noContent)
            }
            try await client.execute(uri: "/v1/sms/kannel/dlr?id=\(id)&m=m2&t=\(token)&status=2", method: .get) { r in
                #expect(r.status == .notFound, "a token is good for one message only")
            }
            try await client.execute(uri: "/v1/sms/kannel/dlr?id=\(id)&m=m1&t=\(token)&status=x", method: .get) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/v1/sms/kannel/dlr?id=\(id)&m=m1&t=\(token)&status=16", method: .get) { r in
                #expect(r.status == .noContent)
            }
            try await client.execute(uri: "/v1/verifications/\(id)", method: .get, headers: t.auth) { r in
                #expect(r.body.json["status"] as? String == "failed")
                #expect(r.body.json["failure_reason"] as? String == "delivery report: kannel 16 rejected by SMSC")
            }
            let events = try await t.core.service.events(id: id)
            #expect(events.contains { $0.kind == .deliveryReport && $0.detail == "in_progress: kannel 8 accepted by SMSC smsc=FAKE answer=ACK/" })
        }
    }

    /// With reports required (`--sms-receipt-timeout`), the store keeps each Kannel message until
    /// its final report; the sweep fails the verification whose report is overdue, and only it.
    @Test func requiredReportsAreKeptInTheStoreUntilTheyComeOrTimeOut() async throws {
        let t = try await TestCore { c in
            c.smsReceiptTimeout = 5
            c.smsDriver = .kannel(KannelConfiguration(sendsmsURL: "http://127.0.0.1:9/cgi-bin/sendsms", username: "u", password: "p"))
        }
        let ledger = try #require(t.core.sentSMS)
        let reported = StoreFixtures.verification(to: "+886975000001")
        let silent = StoreFixtures.verification(to: "+886975000002")
        for v in [reported, silent] { #expect(await t.store.insert(v, event: StoreFixtures.created(v))) }
        let sentAt = Date()
        try await ledger.sent("m1", verificationID: reported.id, now: sentAt)
        try await ledger.sent("m2", verificationID: silent.id, now: sentAt)
        try await t.app().test(.router) { client in
            let token = t.core.kannelDLR.token(id: reported.id, nonce: "m1")
            try await client.execute(uri: "/v1/sms/kannel/dlr?id=\(reported.id)&m=m1&t=\(token)&status=1", method: .get) { r in
                #expect(r.status == .noContent)
            }
        }
        #expect(await t.store.sentSMSOwner(key: "m1") == nil, "the final report settled it")
        #expect(await t.store.sentSMSOwner(key: "m2") == silent.id)
        let sweeper = SentSMSSweeper(ledger: ledger, service: t.core.service, logger: t.core.logger)
        await sweeper.sweep(now: sentAt.addingTimeInterval(4.9))
        #expect(try await t.core.service.verification(id: silent.id).status == .pending, "not due yet")
        await sweeper.sweep(now: sentAt.addingTimeInterval(5))
        let failed = try await t.core.service.verification(id: silent.id)
        #expect(failed.status == .failed)
        #expect(failed.failureReason == "delivery report: no delivery report within 5 s (message m2)")
        #expect(try await t.core.service.verification(id: reported.id).status == .pending)
    }

    @Test func startAcceptsAnOrderedListOfChannels() async throws {
        let t = try await TestCore()
        try await t.app().test(.router) { client in
            // No voice gateway is attached: sms is tried first and works.
            try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                     body: #"{"to":"0975000888","channels":["sms","voice_call"]}"#.buffer) { r in
                #expect(r.status == .created)
                #expect(r.body.json["channel"] as? String == "sms")
            }
            for body in [#"{"to":"0975000888"}"#, #"{"to":"0975000888","channels":[]}"#, #"{"to":"0975000888","channel":"voice_call","channels":["sms"]}"#,
                         #"{"to":"0975000888","channels":["sms","fax"]}"#, #"{"to":"0975000888","channels":["sms","missed_call"]}"#] {
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: body.buffer) { r in
                    #expect(r.status == .badRequest, "\(body)")
                    #expect(r.body.json["code"] as? String == "invalid_request", "\(body)")
                }
            }
        }
    }
}
