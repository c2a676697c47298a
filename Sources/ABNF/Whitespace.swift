// The whitespace of the text protocols Verigate parses, as the core rules of RFC 5234 Appendix B.1
// name it, in one place: SIP and the SIP INFO bodies trim WSP, SDP and SMPP receipt text trim SP.

extension StringProtocol {
    /// The text without leading and trailing WSP (SP or HTAB, RFC 5234 Appendix B.1): SIP's
    /// linear whitespace once folded lines are joined (RFC 3261 §25.1, `LWS`/`SWS`), used for
    /// header values and the SIP INFO bodies that follow SIP's syntax.
    package var trimmingWSP: String { trimming { $0 == " " || $0 == "\t" } }

    /// The text without leading and trailing SP (%x20, RFC 5234 Appendix B.1): the separator of
    /// SDP (RFC 8866 §9, e.g. around `;` in an `a=fmtp` value) and of the fields of an SMPP
    /// delivery receipt's text (SMPP 3.4 Appendix B). A tab is kept: it is text there.
    package var trimmingSP: String { trimming { $0 == " " } }

    private func trimming(_ isSpace: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
