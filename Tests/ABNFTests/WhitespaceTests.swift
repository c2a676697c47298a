import Testing

@testable import ABNF

/// The two ideas of whitespace the parsers share (RFC 5234 Appendix B.1): WSP for SIP, SP for SDP
/// and SMPP receipt text.
@Suite struct WhitespaceTests {
    @Test("WSP: SP and HTAB go from both ends (RFC 3261 §25.1), nothing else does")
    func wsp() {
        #expect(" \t auth-int \t".trimmingWSP == "auth-int")
        #expect("gzip".trimmingWSP == "gzip")
        #expect("a b\tc".trimmingWSP == "a b\tc")
        #expect(" \t \t".trimmingWSP == "")
        #expect("".trimmingWSP == "")
        // A line break is not WSP: folded lines are joined by the parser before this.
        #expect("\r\n5\r\n".trimmingWSP == "\r\n5\r\n")
        // A no-break space is not SP.
        #expect("\u{00A0}5".trimmingWSP == "\u{00A0}5")
        // Substrings too, as the header splitters hand them over.
        let parts = "auth, auth-int ,\tx".split(separator: ",")
        #expect(parts.map(\.trimmingWSP) == ["auth", "auth-int", "x"])
    }

    @Test("SP: only %x20 goes (RFC 8866 §9, SMPP 3.4 Appendix B); a tab is text")
    func sp() {
        #expect("  useinbandfec ".trimmingSP == "useinbandfec")
        #expect("\tstereo".trimmingSP == "\tstereo")
        #expect("ABC123 ".trimmingSP == "ABC123")
        #expect("   ".trimmingSP == "")
        #expect("x".trimmingSP == "x")
        #expect("done date".dropFirst(4).trimmingSP == "date")
    }
}
