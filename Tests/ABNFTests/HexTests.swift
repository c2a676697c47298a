import Testing

@testable import ABNF

/// HEXDIG both ways (RFC 5234 Appendix B.1), the one encoder and decoder of the targets.
@Suite struct HexTests {
    @Test("bytes encode as two lowercase digits each, and decode back in either case")
    func roundTrip() {
        let bytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]
        #expect(bytes.hexEncoded == "00017f80abff")
        #expect("00017f80abff".hexDecoded == bytes)
        #expect("00017F80ABFF".hexDecoded == bytes)
        #expect([UInt8]().hexEncoded == "")
        #expect("".hexDecoded == [])
        let all = (0...255).map(UInt8.init)
        #expect(all.hexEncoded.hexDecoded == all)
    }

    @Test("an odd count of digits or any other character is not hex")
    func refusals() {
        #expect("abc".hexDecoded == nil)
        #expect("0g".hexDecoded == nil)
        #expect("0 ".hexDecoded == nil)
        #expect("é0".hexDecoded == nil)
        #expect("0x".hexDecoded == nil)
    }
}
