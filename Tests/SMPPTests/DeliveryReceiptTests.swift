import Testing
@testable import SMPP

/// SMPP 3.4 Appendix B receipt text.
@Suite struct DeliveryReceiptTests {
    @Test(arguments: DeliveryReceipt.State.allCases)
    func parsesEveryState(_ state: DeliveryReceipt.State) throws {
        let text = "id:0123456789 sub:001 dlvrd:000 submit date:2611281640 done date:2611281650 stat:\(state.rawValue) err:042 Text:Your code"
        let receipt = try DeliveryReceipt.parse(text)
        #expect(receipt == DeliveryReceipt(messageID: "0123456789", state: state, error: "042",
                                           submitDate: "2611281640", doneDate: "2611281650"))
    }

    @Test func minimalAndMalformed() throws {
        #expect(try DeliveryReceipt.parse("id:abc stat:UNDELIV").state == .undeliverable)
        #expect(throws: SMPPError.malformedReceipt("no stat")) { try DeliveryReceipt.parse("id:abc sub:001") }
        #expect(throws: SMPPError.malformedReceipt("no id")) { try DeliveryReceipt.parse("stat:DELIVRD") }
        #expect(throws: SMPPError.malformedReceipt("unknown stat FOO")) { try DeliveryReceipt.parse("id:1 stat:FOO") }
        #expect(throws: SMPPError.malformedReceipt("receipt longer than 1000 octets")) {
            try DeliveryReceipt.parse("id:1 stat:DELIVRD text:" + String(repeating: "x", count: 1000))
        }
    }

    /// `text:` is the start of the SMS (the code): nothing after it is read as a key, and an
    /// `err` longer than Appendix B's 3 characters is not kept.
    @Test func nothingOfTheTextIsKept() throws {
        let receipt = try DeliveryReceipt.parse("id:7 stat:UNDELIV text:Your code err:123456 done date:123456")
        #expect(receipt == DeliveryReceipt(messageID: "7", state: .undeliverable))
        #expect(try DeliveryReceipt.parse("id:7 stat:UNDELIV err:123456 text:x").error == "")
        #expect(throws: SMPPError.malformedReceipt("no stat")) { try DeliveryReceipt.parse("id:7 text:code stat:DELIVRD") }
    }

    @Test func tlvsWinOverText() throws {
        var message = SMPPShortMessage(shortMessage: Array("id:999 stat:ENROUTE".utf8), esmClass: 0x04)
        message.tlvs = [SMPPTLV(tag: .receiptedMessageID, value: Array("abc".utf8) + [0]),
                        SMPPTLV(tag: .messageState, value: [8])]
        let receipt = try DeliveryReceipt.from(message)
        #expect(receipt.messageID == "abc")
        #expect(receipt.state == .rejected)
        #expect(!receipt.state.isSuccess)
    }
}
