import Testing
@testable import SMPP

/// GSM 03.38 / UCS-2 selection and splitting (3GPP TS 23.038 §6.2.1, TS 23.040 §9.2.3.24.1).
@Suite struct SMSEncoderTests {
    @Test func gsmTextStaysGSM() throws {
        let segments = SMSEncoder().segments("Your code is 123456", reference: 1)
        #expect(segments.count == 1)
        #expect(segments[0].dataCoding == 0)
        #expect(segments[0].esmClass == 0)
        #expect(segments[0].shortMessage == Array("Your code is 123456".utf8))
        // @ is septet 0, £ is 1, è is 4.
        #expect(GSM7.septets("@£è") == [0x00, 0x01, 0x04])
    }

    @Test func euroAndBracesViaEscape() {
        #expect(GSM7.septets("€5") == [0x1B, 0x65, 0x35])
        #expect(GSM7.septets("{[~]}|^\\") == [0x1B, 0x28, 0x1B, 0x3C, 0x1B, 0x3D, 0x1B, 0x3E, 0x1B, 0x29, 0x1B, 0x40, 0x1B, 0x14, 0x1B, 0x2F])
        #expect(GSM7.decode(septets: [0x1B, 0x65, 0x35]) == "€5")
        #expect(!SMSEncoder.needsUCS2("Kòd: 123 € {ok}"))
    }

    @Test func packedSeptets() {
        // The classic TS 23.038 example: "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37.
        let septets = GSM7.septets("hellohello") ?? []
        #expect(GSM7.pack(septets) == hex("E8329BFD4697D9EC37"))
        #expect(GSM7.unpack(hex("E8329BFD4697D9EC37"), count: 10) == septets)
        let packed = SMSEncoder(packing: .packed).segments("hellohello", reference: 0)
        #expect(packed[0].shortMessage == hex("E8329BFD4697D9EC37"))
    }

    @Test func chineseAndEmojiNeedUCS2() {
        let zh = SMSEncoder().segments("驗證碼 123456", reference: 1)
        #expect(zh[0].dataCoding == 8)
        #expect(zh[0].shortMessage == hex("9A57 8B49 78BC 0020 0031 0032 0033 0034 0035 0036"))
        let emoji = SMSEncoder().segments("OK 😀", reference: 1)
        #expect(emoji[0].dataCoding == 8)
        #expect(emoji[0].shortMessage == hex("004F 004B 0020 D83D DE00"))
        // Cyrillic, and accents the table lacks (ó), need UCS-2 too.
        #expect(SMSEncoder.needsUCS2("Kód"))
        #expect(SMSEncoder.needsUCS2("Код"))
        #expect(SMSEncoder.needsUCS2("ç"))  // only capital Ç is in GSM 03.38
    }

    @Test func longGSMSplitsWith153SeptetsAndKeepsEscapes() throws {
        let text = String(repeating: "a", count: 152) + "€" + String(repeating: "b", count: 50)
        let segments = SMSEncoder().segments(text, reference: 0x2A)
        #expect(segments.count == 2)
        #expect(segments.allSatisfy { $0.esmClass == 0x40 && $0.dataCoding == 0 })
        #expect(Array(segments[0].shortMessage.prefix(6)) == hex("050003 2A 02 01"))
        #expect(Array(segments[1].shortMessage.prefix(6)) == hex("050003 2A 02 02"))
        // The € (ESC + 0x65) would straddle 153: it moves whole to part 2.
        #expect(segments[0].shortMessage.count == 6 + 152)
        #expect(Array(segments[1].shortMessage[6..<8]) == [0x1B, 0x65])
        let joined = segments.flatMap { $0.shortMessage.dropFirst(6) }
        #expect(GSM7.decode(septets: joined) == text)
    }

    @Test func longPackedGSMAlignsAfterUDH() {
        let text = String(repeating: "0123456789", count: 20)
        let segments = SMSEncoder(packing: .packed).segments(text, reference: 7)
        #expect(segments.count == 2)
        let septets = segments.flatMap { segment -> [UInt8] in
            let count = segment === segments[0] ? 153 : 47
            return GSM7.unpack(Array(segment.shortMessage.dropFirst(6)), count: count, fillBits: 1)
        }
        #expect(GSM7.decode(septets: septets) == text)
        // 153 septets + 1 fill bit = 1072 bits = 134 octets after the 6-octet UDH: 140 in all.
        #expect(segments[0].shortMessage.count == 140)
    }

    @Test func longUCS2SplitsAt67WithoutBreakingSurrogates() {
        let text = String(repeating: "碼", count: 66) + "😀" + String(repeating: "驗", count: 10)
        let segments = SMSEncoder().segments(text, reference: 3)
        #expect(segments.count == 2)
        #expect(segments[0].shortMessage.count == 6 + 66 * 2)  // the emoji pair moves whole to part 2
        let units = segments.flatMap { Array($0.shortMessage.dropFirst(6)) }
        var utf16: [UInt16] = []
        for index in stride(from: 0, to: units.count, by: 2) { utf16.append(UInt16(units[index]) << 8 | UInt16(units[index + 1])) }
        #expect(String(decoding: utf16, as: UTF16.self) == text)
    }

    @Test func messagePayloadModeCarriesWholeText() {
        let text = String(repeating: "碼", count: 100)
        let segments = SMSEncoder(longMessageMode: .messagePayload).segments(text, reference: 3)
        #expect(segments.count == 1)
        #expect(segments[0].shortMessage.isEmpty)
        #expect(segments[0].tlvs.first?.tag == .messagePayload)
        #expect(segments[0].tlvs.first?.value.count == 200)
    }
}

extension SMSEncoder.Segment {
    fileprivate static func === (lhs: Self, rhs: Self) -> Bool { lhs == rhs }
}
