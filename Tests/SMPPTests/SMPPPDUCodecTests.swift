import NIOCore
import Testing
@testable import SMPP

/// PDUs written byte by byte from the SMPP 3.4 field tables (§3.2 header, §4 bodies).
@Suite struct SMPPPDUCodecTests {
    @Test func enquireLinkHeaderOnly() throws {
        // §4.11.1: command_length 16, command_id 0x00000015, status 0, sequence 1.
        let bytes = hex("00000010 00000015 00000000 00000001")
        #expect(SMPPPDUEncoder.bytes(SMPPPDU(.enquireLink, sequenceNumber: 1)) == bytes)
        #expect(try decodeOne(bytes) == SMPPPDU(.enquireLink, sequenceNumber: 1))
        #expect(try decodeOne(hex("00000010 80000015 00000000 00000001")) == SMPPPDU(.enquireLinkResp, sequenceNumber: 1))
    }

    @Test func bindTransceiverFromFieldTable() throws {
        // §4.2.5: system_id, password, system_type (C-Octet), interface_version 0x34, addr_ton, addr_npi, address_range.
        let body = cstr("SMPP3TEST") + cstr("secret08") + cstr("SUBMIT1") + [0x34, 0x01, 0x01] + cstr("")
        let bytes = hex("00000000 00000009 00000000 0000002A") + body
        var expected = bytes
        expected[3] = UInt8(bytes.count)
        let pdu = SMPPPDU(.bindTransceiver(SMPPBind(systemID: "SMPP3TEST", password: "secret08", systemType: "SUBMIT1",
                                                      addrTON: 1, addrNPI: 1)), sequenceNumber: 0x2A)
        #expect(SMPPPDUEncoder.bytes(pdu) == expected)
        #expect(expected.count == 16 + 10 + 9 + 8 + 3 + 1)
        #expect(try decodeOne(expected) == pdu)
    }

    @Test func bindTransceiverRespWithTLVAndRefusal() throws {
        // §4.2.6 with sc_interface_version TLV 0x0210 length 1 value 0x34.
        let ok = hex("0000001C 80000009 00000000 00000001") + cstr("SMSC01") + hex("0210 0001 34")
        #expect(ok.count == 0x1C)
        #expect(try decodeOne(ok) == SMPPPDU(.bindTransceiverResp(systemID: "SMSC01",
                                                                  tlvs: [SMPPTLV(tag: .scInterfaceVersion, value: [0x34])]), sequenceNumber: 1))
        // Refused: ESME_RBINDFAIL (0x0D) and no body.
        let refused = try #require(try decodeOne(hex("00000010 80000009 0000000D 00000001")))
        #expect(refused.commandStatus == .ESME_RBINDFAIL)
        #expect(refused.commandStatus.name == "ESME_RBINDFAIL")
    }

    @Test func submitSmFromFieldTable() throws {
        // §4.4.1 in table order.
        let body: [UInt8] = cstr("") + [0x05, 0x00] + cstr("Verigate") + [0x01, 0x01] + cstr("886975000888")
            + [0x00, 0x00, 0x00] + cstr("") + cstr("") + [0x01, 0x00, 0x00, 0x00]
            + [0x0B] + Array("Code 123456".utf8)
            + hex("0424 0002 4142")  // message_payload TLV (value "AB")
        let length = UInt8(16 + body.count)
        let bytes = hex("000000") + [length] + hex("00000004 00000000 00000002") + body
        var message = SMPPShortMessage(sourceAddr: "Verigate", destinationAddr: "886975000888",
                                       shortMessage: Array("Code 123456".utf8), registeredDelivery: 1,
                                       tlvs: [SMPPTLV(tag: .messagePayload, value: [0x41, 0x42])])
        message.sourceAddrTON = 5
        message.sourceAddrNPI = 0
        let pdu = SMPPPDU(.submitSm(message), sequenceNumber: 2)
        #expect(SMPPPDUEncoder.bytes(pdu) == bytes)
        #expect(try decodeOne(bytes) == pdu)
    }

    @Test func submitSmRespWithAndWithoutBody() throws {
        // §4.4.2: message_id C-Octet; absent when command_status ≠ 0.
        let ok = hex("00000019 80000004 00000000 00000002") + cstr("5F2A0B1C")
        #expect(try decodeOne(ok) == SMPPPDU(.submitSmResp(messageID: "5F2A0B1C"), sequenceNumber: 2))
        let throttled = try #require(try decodeOne(hex("00000010 80000004 00000058 00000003")))
        #expect(throttled.commandStatus == .ESME_RTHROTTLED)
        #expect(throttled.commandStatus.isTransient)
        #expect(throttled.body == .submitSmResp(messageID: ""))
    }

    @Test func deliverSmReceiptAndResp() throws {
        let text = "id:5F2A0B1C sub:001 dlvrd:001 submit date:2611281640 done date:2611281641 stat:DELIVRD err:000 text:Code"
        let body: [UInt8] = cstr("") + [0x01, 0x01] + cstr("886975000888") + [0x05, 0x00] + cstr("Verigate")
            + [0x04, 0x00, 0x00] + cstr("") + cstr("") + [0x00, 0x00, 0x00, 0x00]
            + [UInt8(text.utf8.count)] + Array(text.utf8)
            + hex("001E 0009") + cstr("5F2A0B1C") + hex("0427 0001 02")
        let bytes = hex("0000") + [UInt8((16 + body.count) >> 8), UInt8((16 + body.count) & 0xFF)] + hex("00000005 00000000 00000007") + body
        let pdu = try #require(try decodeOne(bytes))
        guard case .deliverSm(let message) = pdu.body else {
            Issue.record("not deliver_sm")
            return
        }
        #expect(message.esmClass == 0x04)
        #expect(try DeliveryReceipt.from(message) == DeliveryReceipt(messageID: "5F2A0B1C", state: .delivered, error: "000",
                                                                     submitDate: "2611281640", doneDate: "2611281641"))
        // §4.6.2: deliver_sm_resp carries a NULL message_id.
        #expect(SMPPPDUEncoder.bytes(SMPPPDU(.deliverSmResp, sequenceNumber: 7)) == hex("00000011 80000005 00000000 00000007 00"))
    }

    @Test func unbindGenericNackAndUnknownCommand() throws {
        #expect(SMPPPDUEncoder.bytes(SMPPPDU(.unbind, sequenceNumber: 9)) == hex("00000010 00000006 00000000 00000009"))
        #expect(try decodeOne(hex("00000010 80000006 00000000 00000009")) == SMPPPDU(.unbindResp, sequenceNumber: 9))
        #expect(SMPPPDUEncoder.bytes(SMPPPDU(.genericNack, sequenceNumber: 4, commandStatus: .ESME_RINVCMDID))
            == hex("00000010 80000000 00000003 00000004"))
        // query_sm (0x03) is not ours: decoded as unsupported, body skipped.
        #expect(try decodeOne(hex("00000012 00000003 00000000 00000005 4100")) == SMPPPDU(.unsupported(commandID: 3), sequenceNumber: 5))
    }

    @Test func framingByCommandLength() throws {
        let one = hex("00000010 00000015 00000000 00000001")
        let two = hex("00000010 80000015 00000000 00000002")
        var buffer = ByteBuffer(bytes: Array(one.prefix(10)))
        let decoder = SMPPPDUDecoder()
        #expect(try decoder.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 10)
        buffer.writeBytes(one.dropFirst(10) + two)
        #expect(try decoder.parse(&buffer)?.sequenceNumber == 1)
        #expect(try decoder.parse(&buffer)?.body == .enquireLinkResp)
        #expect(try decoder.parse(&buffer) == nil)
    }

    @Test func limitsAndMalformedBodies() {
        #expect(throws: SMPPError.invalidCommandLength(0x10_0000)) { try decodeOne(hex("00100000 00000015 00000000 00000001")) }
        #expect(throws: SMPPError.invalidCommandLength(8)) { try decodeOne(hex("00000008 00000015")) }
        // submit_sm_resp whose message_id has no NUL.
        #expect(throws: SMPPError.truncated(field: "message_id")) { try decodeOne(hex("00000013 80000004 00000000 00000001 414243")) }
        // system_id longer than 16 octets.
        #expect(throws: SMPPError.fieldTooLong(field: "system_id")) {
            try decodeOne(hex("00000025 80000009 00000000 00000001") + Array(repeating: 0x41, count: 20) + [0])
        }
        #expect(SMPPError.truncated(field: "x").code == "smpp_truncated")
        // sm_length beyond the frame.
        let body: [UInt8] = cstr("") + [1, 1] + cstr("1") + [1, 1] + cstr("2") + [0, 0, 0] + cstr("") + cstr("") + [0, 0, 0, 0, 50, 0x41]
        #expect(throws: SMPPError.truncated(field: "short_message")) {
            try decodeOne(hex("000000") + [UInt8(16 + body.count)] + hex("00000004 00000000 00000001") + body)
        }
    }

    /// Found by SMPPFuzz: a bind_transceiver whose system_id is not UTF-8 decoded with U+FFFD in
    /// place of each bad byte, and encoded to a system_id longer than its 16 octets. Such a string
    /// is now refused; UTF-8 (beyond the spec's ASCII) still round-trips.
    @Test func refusesCOctetStringsThatAreNotUTF8() throws {
        let found = hex("0000002f00000009000000000000002a534d505033834553a9ebbde4e07f0000547a007365630000000000000000424d4954300034010100")
        #expect(throws: SMPPError.notText(field: "system_id")) { try decodeOne(found) }
        #expect(SMPPError.notText(field: "x").code == "smpp_not_text")
        let utf8 = SMPPPDU(.submitSmResp(messageID: "訊息-1"), sequenceNumber: 3)
        #expect(try decodeOne(SMPPPDUEncoder.bytes(utf8)) == utf8)
    }

    /// sm_length 255 decoded, but short_message holds 0…254 octets (§4.4.1) and the encoder writes
    /// at most 254: the last octet was lost on the way back. Now refused like any field too long.
    @Test func refusesShortMessageOver254Octets() throws {
        func submit(_ length: Int) -> [UInt8] {
            let body: [UInt8] = cstr("") + [1, 1] + cstr("1") + [1, 1] + cstr("2") + [0, 0, 0] + cstr("") + cstr("") + [0, 0, 0, 0, UInt8(length)]
                + Array(repeating: 0x41, count: length)
            let total = 16 + body.count
            return [0, 0, UInt8(total >> 8), UInt8(total & 0xFF)] + hex("00000004 00000000 00000001") + body
        }
        #expect(throws: SMPPError.fieldTooLong(field: "short_message")) { try decodeOne(submit(255)) }
        let longest = try #require(try decodeOne(submit(254)))
        #expect(try decodeOne(SMPPPDUEncoder.bytes(longest)) == longest)
    }

    @Test func statusNames() {
        #expect(SMPPCommandStatus.ESME_RMSGQFUL.name == "ESME_RMSGQFUL")
        #expect(SMPPCommandStatus.ESME_RINVDSTADR.name == "ESME_RINVDSTADR")
        #expect(SMPPCommandStatus(rawValue: 0x400).name == "0x400")
        #expect(!SMPPCommandStatus.ESME_RINVDSTADR.isTransient)
    }
}
