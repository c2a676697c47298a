import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SMPP
import ServiceLifecycle
import Testing
import TestSupport
import Verification
@testable import VerificationServer

/// The `smpp` driver in the core against the smpp34 test SMSC (tests/smsc/smsc.py): the code
/// goes out in submit_sm, is checked through the API, and the SMSC's receipt becomes an event.
@Suite(.serialized, .timeLimit(.minutes(2)), .enabled(if: TestSMSC.shouldRun, "needs .venv with smpp34 (scripts/python-venv.sh)"))
struct SMPPDriverTests {
    func core(_ smsc: TestSMSC, receiptTimeout: Double = 0, store: MemoryStore = MemoryStore()) async throws -> TestCore {
        try await TestCore(store: store) { c in
            c.smsReceiptTimeout = receiptTimeout
            c.webhooks.allowPrivateAddresses = true
            c.smsDriver = .smpp(SMPPDriverConfiguration(
                session: ESMEConfiguration(
                    host: "127.0.0.1", port: smsc.port, bind: SMPPBind(systemID: "verigate", password: "secret", systemType: "OTP"),
                    reconnectBackoff: .init(initial: .milliseconds(50), maximum: .milliseconds(500)),
                    throttleBackoff: .init(initial: .milliseconds(100), maximum: .seconds(1))),
                sourceAddr: "Verigate"))
        }
    }

    /// Runs `body` while the driver and its receipt recorder run as services.
    func running(_ t: TestCore, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let services = t.core.services().filter { $0 is SMPPSMS || $0 is SMPPReportRecorder || $0 is SentSMSSweeper }
            #expect(services.count >= 2)
            for service in services { group.addTask { try await service.run() } }
            try await body()
            group.cancelAll()
        }
    }

    static func hexText(_ hex: String, dataCoding: Int) -> String {
        let bytes = stride(from: 0, to: hex.count, by: 2).compactMap { i -> UInt8? in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
        }
        if dataCoding == 8 {
            let units = stride(from: 0, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
            return String(utf16CodeUnits: units, count: units.count)
        }
        return GSM7.decode(septets: bytes)
    }

    @Test func codeGoesOutInSubmitSmAndTheReceiptIsRecorded() async throws {
        let smsc = try await TestSMSC(["--receipts"])
        defer { smsc.stop() }
        let t = try await core(smsc)
        try await running(t) {
            try await t.app().test(.router) { client in
                let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                                  body: #"{"to":"0975000888","channel":"sms","locale":"zh-TW"}"#.buffer) { r in
                    #expect(r.status == .created)
                    return try #require(r.body.json["id"] as? String)
                }
                let submit = try await smsc.next { $0["event"] as? String == "submit" }
                #expect(submit["dest"] as? String == "886975000888")
                #expect(submit["source"] as? String == "Verigate")
                #expect(submit["data_coding"] as? Int == 8, "Chinese goes as UCS-2")
                let text = Self.hexText(submit["short_message"] as? String ?? "", dataCoding: 8)
                let code = try #require(text.split(whereSeparator: { !$0.isNumber }).map(String.init).first { $0.count == 6 })
                #expect(text == "Verigate：您的驗證碼是 \(code)，10 分鐘內有效。請勿告訴他人。")
                try await client.execute(uri: "/v1/verifications/\(id)/checks", method: .post, headers: t.auth, body: #"{"code":"\#(code)"}"#.buffer) { r in
                    #expect(r.body.json["status"] as? String == "approved")
                }
                let deadline = ContinuousClock.now + .seconds(20)
                var report: VerificationEvent?
                while report == nil, ContinuousClock.now < deadline {
                    report = try await t.core.service.events(id: id).first { $0.kind == .deliveryReport }
                    if report == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                let messageID = submit["message_id"] as? String ?? "?"
                #expect(report?.detail == "delivered: smpp DELIVRD err:000 message_id=\(messageID)")
            }
        }
    }

    /// Issue 12 item 6: an SMSC whose receipt quotes the message after `text:` (the code): the
    /// receipt fails the verification, and the code is in no event, failure_reason, webhook or SSE.
    @Test func receiptQuotingTheCodeIsShownNowhere() async throws {
        let smsc = try await TestSMSC(["--receipts", "--receipts-with-text"])
        defer { smsc.stop() }
        let t = try await core(smsc)
        let receiver = Receiver(script: [])
        try await running(t) {
            try await Application(router: receiver.router()).test(.live) { hook async throws in
                try await t.app().test(.router) { client in
                    let body = #"{"to":"0975000888","channel":"sms","locale":"en","callback_url":"http://127.0.0.1:\#(hook.port!)/hook"}"#
                    let id = try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth, body: ByteBuffer(string: body)) { r in
                        #expect(r.status == .created)
                        return try #require(r.body.json["id"] as? String)
                    }
                    async let stream: String = client.execute(uri: "/v1/verifications/\(id)/events", method: .get, headers: t.auth) { r in
                        String(buffer: r.body)
                    }
                    while t.core.broker.subscriberCount == 0 { await Task.yield() }
                    smsc.release()  // its receipt, held until the stream is open
                    let submit = try await smsc.next { $0["event"] as? String == "submit" }
                    let text = Self.hexText(submit["short_message"] as? String ?? "", dataCoding: submit["data_coding"] as? Int ?? 0)
                    let code = try #require(text.split(whereSeparator: { !$0.isNumber }).map(String.init).first { $0.count == 6 }, "\(text)")
                    // The stream ends with the failure the receipt causes.
                    let sse = try await stream
                    try await ReportText.expectShownNowhere(code, t: t, id: id, sse: sse, receiver: receiver,
                                                            reportSays: "smpp UNDELIV err:001 message_id=\(submit["message_id"] as? String ?? "?")")
                }
            }
        }
    }

    /// With receipts required, an SMSC that never sends one fails the verification (and one that
    /// does, within the time, leaves it pending).
    @Test func missingReceiptFailsThePendingVerification() async throws {
        let smsc = try await TestSMSC([])
        defer { smsc.stop() }
        let t = try await core(smsc, receiptTimeout: 0.5)
        try await running(t) {
            let r = try await t.core.service.start(StartRequest(to: "0975000888", channel: .sms))
            let submit = try await smsc.next { $0["event"] as? String == "submit" }
            let deadline = ContinuousClock.now + .seconds(20)
            var v = r.verification
            while v.status == .pending, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                v = try await t.core.service.verification(id: r.verification.id)
            }
            #expect(v.status == .failed)
            #expect(v.failureReason == "delivery report: no delivery report within 0.5 s (message \(submit["message_id"] as? String ?? "?"))")
        }
    }

    @Test func receiptInTimeKeepsTheVerificationPending() async throws {
        let smsc = try await TestSMSC(["--receipts"])
        defer { smsc.stop() }
        let t = try await core(smsc, receiptTimeout: 0.5)
        try await running(t) {
            let r = try await t.core.service.start(StartRequest(to: "0975000888", channel: .sms))
            let deadline = ContinuousClock.now + .seconds(20)
            while try await t.core.service.events(id: r.verification.id).contains(where: { $0.kind == .deliveryReport }) == false,
                  ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            // Past the receipt timeout (and a sweep or two): still pending.
            try await Task.sleep(for: .seconds(1))
            #expect(try await t.core.service.verification(id: r.verification.id).status == .pending)
        }
    }

    /// The SMSC hands the receipt to another transceiver bound later (a second node on the same
    /// store, or this core after a restart): it finds its verification through the store.
    @Test func receiptToAnotherNodeFindsItsVerificationInTheStore() async throws {
        let smsc = try await TestSMSC(["--receipts-to-next-bind"])
        defer { smsc.stop() }
        let store = MemoryStore()
        let first = try await core(smsc, store: store)
        let second = try await core(smsc, store: store)
        try await running(first) {
            let r = try await first.core.service.start(StartRequest(to: "0975000888", channel: .sms))
            let submit = try await smsc.next { $0["event"] as? String == "submit" }
            let messageID = try #require(submit["message_id"] as? String)
            try await running(second) {
                let handed = try await smsc.next { $0["event"] as? String == "receipt" }
                #expect(handed["message_id"] as? String == messageID)
                let deadline = ContinuousClock.now + .seconds(20)
                var report: VerificationEvent?
                while report == nil, ContinuousClock.now < deadline {
                    report = try await store.events(verificationID: r.verification.id).first { $0.kind == .deliveryReport }
                    if report == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(report?.detail == "delivered: smpp DELIVRD err:000 message_id=\(messageID)")
                #expect(await store.sentSMSOwner(key: messageID) == nil, "a final receipt settles the message")
            }
        }
    }

    @Test func orphanReceiptsWaitAMinuteAndAreBounded() {
        var orphans = OrphanReceipts()
        let start = ContinuousClock.now
        orphans.add(DeliveryReceipt(messageID: "A", state: .delivered), since: start)
        orphans.add(DeliveryReceipt(messageID: "B", state: .delivered), since: start + .seconds(30))
        #expect(orphans.take("A")?.messageID == "A")
        #expect(orphans.take("A") == nil, "taken once")
        orphans.add(DeliveryReceipt(messageID: "A", state: .undeliverable), since: start)
        let (waiting, expired) = orphans.drain(now: start + OrphanReceipts.patience)
        #expect(expired.map(\.messageID) == ["A"], "a minute old: dropped")
        #expect(waiting.map(\.0.messageID) == ["B"])
        #expect(orphans.take("B") == nil, "drained")
        for n in 0..<(OrphanReceipts.capacity + 10) { orphans.add(DeliveryReceipt(messageID: "M\(n)", state: .delivered)) }
        #expect(orphans.drain(now: .now).waiting.count == OrphanReceipts.capacity)
    }

    @Test func refusedBindFailsTheVerificationWithTheStatusName() async throws {
        let smsc = try await TestSMSC(["--refuse-bind"])
        defer { smsc.stop() }
        let t = try await core(smsc)
        try await running(t) {
            try await t.app().test(.router) { client in
                try await client.execute(uri: "/v1/verifications", method: .post, headers: t.auth,
                                         body: #"{"to":"0975000888","channel":"sms"}"#.buffer) { r in
                    #expect(r.status == .badGateway)
                    #expect((r.body.json["detail"] as? String)?.contains("smpp: bind refused: ESME_RBINDFAIL") == true)
                }
            }
        }
    }
}
