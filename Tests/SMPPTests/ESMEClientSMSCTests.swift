import Foundation
import NIOCore
import NIOPosix
import Testing
import TestSupport
@testable import SMPP

/// The ESME client against the smpp34 test SMSC (tests/smsc/smsc.py) over loopback.
@Suite(.serialized, .timeLimit(.minutes(2)), .enabled(if: TestSMSC.shouldRun, "needs .venv with smpp34 (scripts/python-venv.sh)"))
struct ESMEClientSMSCTests {
    func client(_ smsc: TestSMSC, window: Int = 10, rate: Double = 0, password: String = "secret") -> ESMEClient {
        ESMEClient(configuration: ESMEConfiguration(
            host: "127.0.0.1", port: smsc.port, bind: SMPPBind(systemID: "verigate", password: password, systemType: "OTP"),
            windowSize: window, maxSubmitsPerSecond: rate, enquireLinkInterval: .seconds(5), responseTimeout: .seconds(5),
            reconnectBackoff: .init(initial: .milliseconds(50), maximum: .milliseconds(500)),
            throttleBackoff: .init(initial: .milliseconds(100), maximum: .seconds(1))))
    }

    func message(_ text: String, to: String = "886975000888", receipt: Bool = false) -> [SMPPShortMessage] {
        SMSEncoder().segments(text, reference: 1).map {
            SMPPShortMessage(sourceAddr: "Verigate", destinationAddr: to, shortMessage: $0.shortMessage, dataCoding: $0.dataCoding,
                             esmClass: $0.esmClass, registeredDelivery: receipt ? 1 : 0, tlvs: $0.tlvs)
        }
    }

    @Test func bindSubmitAndReceipt() async throws {
        let smsc = try await TestSMSC(["--receipts"])
        defer { smsc.stop() }
        let esme = client(smsc)
        esme.start()
        let messageID = try await esme.submit(message("Verigate: your code is 123456", receipt: true)[0])
        var receipts = esme.receipts.makeAsyncIterator()
        let receipt = try #require(await receipts.next())
        #expect(receipt.messageID == messageID)
        #expect(receipt.state == .delivered)
        let bind = try #require(smsc.events("bind").first)
        #expect(bind["system_id"] as? String == "verigate")
        let submit = try #require(smsc.events("submit").first)
        #expect(submit["dest"] as? String == "886975000888")
        #expect(submit["data_coding"] as? Int == 0)
        #expect(submit["short_message"] as? String == Array("Verigate: your code is 123456".utf8).map { String(format: "%02x", $0) }.joined())
        // A Chinese text goes as UCS-2.
        _ = try await esme.submit(message("驗證碼 123456")[0])
        let zh = try await smsc.next { $0["event"] as? String == "submit" && $0["data_coding"] as? Int == 8 }
        #expect(zh["short_message"] as? String == "9a578b4978bc0020003100320033003400350036")
        await esme.shutdown()
    }

    @Test func refusedBindFailsTheSendWithStatusName() async throws {
        let smsc = try await TestSMSC(["--refuse-bind"])
        defer { smsc.stop() }
        let esme = client(smsc, password: "wrong")
        esme.start()
        await #expect(throws: ESMEFailure.bindRefused(.ESME_RBINDFAIL)) {
            try await esme.submit(message("code 1")[0])
        }
        await esme.shutdown()
    }

    @Test func throttledSubmitIsRetried() async throws {
        let smsc = try await TestSMSC(["--throttle", "2"])
        defer { smsc.stop() }
        let esme = client(smsc)
        esme.start()
        let id = try await esme.submit(message("code 2")[0])
        #expect(!id.isEmpty)
        try await smsc.wait(for: "submit", count: 1)  // the harness's stdout may trail the answer
        #expect(smsc.events("throttled").count == 2)
        #expect(smsc.events("submit").count == 1)
        await esme.shutdown()
    }

    @Test func droppedConnectionMidRunDeliversEveryMessageExactlyOnce() async throws {
        let smsc = try await TestSMSC(["--drop-after", "20"])
        defer { smsc.stop() }
        let esme = client(smsc, window: 5)
        esme.start()
        let count = 60
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for n in 0..<count {
                group.addTask { try await esme.submit(self.message("code \(n)", to: "88697500\(1000 + n)")[0]) }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids).count == count)
        try await smsc.wait(for: "submit", count: count)  // the harness's stdout may trail the answers
        #expect(smsc.events("drop").count == 1)
        #expect(smsc.events("restarted").count == 1)
        #expect(smsc.events("bind").count == 2)
        let destinations = smsc.events("submit").compactMap { $0["dest"] as? String }
        #expect(destinations.count == count)
        #expect(Set(destinations).count == count)
        await esme.shutdown()
    }

    /// Measures sustained submit_sm per second (window 50, no rate limit); printed, not asserted.
    @Test func throughput() async throws {
        let smsc = try await TestSMSC([])
        defer { smsc.stop() }
        let esme = client(smsc, window: 50)
        esme.start()
        _ = try await esme.submit(message("warm up")[0])
        let count = 3000
        let pdu = message("Verigate: your code is 123456")[0]
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<count { group.addTask { try await esme.submit(pdu) } }
                for try await _ in group {}
            }
        }
        try await smsc.wait(for: "submit", count: count + 1)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("SMPP throughput: \(count) submit_sm in \(seconds) s = \(Int(Double(count) / seconds)) submit_sm/s")
        await esme.shutdown()
    }
}
