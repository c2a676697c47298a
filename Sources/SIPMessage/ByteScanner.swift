// A cursor over the bytes of one header value, with the RFC 3261 §25.1 lexical helpers
// (LWS/SWS, token, quoted-string, separators with surrounding SWS). Internal.

struct ByteScanner {
    let bytes: [UInt8]
    var index: Int = 0
    let header: SIPHeaderName?

    init(_ bytes: [UInt8], header: SIPHeaderName? = nil) {
        self.bytes = bytes
        self.header = header
    }

    init(_ string: String, header: SIPHeaderName? = nil) {
        self.init(Array(string.utf8), header: header)
    }

    var atEnd: Bool { index >= bytes.count }
    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    func fail(_ detail: String) -> SIPParseError {
        if let header { return .value(header, detail) }
        return .uri(detail)
    }

    static func isWhitespace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    /// Skips LWS (SP, HT and folded line breaks): the header splitter guarantees every CRLF
    /// inside a value is followed by whitespace, so all four count as LWS here (§25.1).
    mutating func skipWhitespace() {
        while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
    }

    /// Consumes `c` if it is next (no whitespace skipping).
    mutating func consume(_ c: UInt8) -> Bool {
        if index < bytes.count, bytes[index] == c {
            index += 1
            return true
        }
        return false
    }

    /// `SWS c SWS` (SEMI, COMMA, EQUAL, SLASH, COLON of §25.1). Restores position when absent.
    mutating func separator(_ c: UInt8) -> Bool {
        let save = index
        skipWhitespace()
        if consume(c) {
            skipWhitespace()
            return true
        }
        index = save
        return false
    }

    /// `token` (§25.1), or nil when none is next.
    mutating func token() -> String? {
        let start = index
        while index < bytes.count, SIPMessageParser.isTokenChar(bytes[index]) { index += 1 }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    /// A token that must be present.
    mutating func requireToken(_ what: String) throws(SIPParseError) -> String {
        guard let t = token() else { throw fail("Expected \(what)") }
        return t
    }

    /// `quoted-string` (§25.1) starting at `"`: returns the raw text including quotes and the decoded content.
    mutating func quotedString() throws(SIPParseError) -> (raw: String, text: String) {
        let start = index
        guard consume(UInt8(ascii: "\"")) else { throw fail("Expected Quoted String") }
        var text: [UInt8] = []
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                return (String(decoding: bytes[start..<index], as: UTF8.self), String(decoding: text, as: UTF8.self))
            }
            if c == UInt8(ascii: "\\") {
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                guard index + 1 < bytes.count, bytes[index + 1] <= 0x7F, bytes[index + 1] != 0x0A, bytes[index + 1] != 0x0D else {
                    throw fail("Bad Escape In Quoted String")
                }
                text.append(bytes[index + 1])
                index += 2
                continue
            }
            text.append(c)
            index += 1
        }
        throw fail("Unterminated Quoted String")
    }

    /// Reads bytes while `predicate` holds.
    mutating func take(while predicate: (UInt8) -> Bool) -> ArraySlice<UInt8> {
        let start = index
        while index < bytes.count, predicate(bytes[index]) { index += 1 }
        return bytes[start..<index]
    }

    /// Requires the end of input (after optional whitespace).
    mutating func expectEnd() throws(SIPParseError) {
        skipWhitespace()
        guard atEnd else { throw fail("Unexpected Characters") }
    }

    /// Parses a comma-separated list with `element`, allowing no empty elements (§7.3.1).
    mutating func list<T>(_ element: (inout ByteScanner) throws(SIPParseError) -> T) throws(SIPParseError) -> [T] {
        var out: [T] = []
        skipWhitespace()
        repeat {
            out.append(try element(&self))
        } while separator(UInt8(ascii: ","))
        try expectEnd()
        return out
    }
}

extension ArraySlice<UInt8> {
    var string: String { String(decoding: self, as: UTF8.self) }
}
