// HEXDIG (RFC 5234 Appendix B.1) in one place: the digests and nonces of SIP digest auth (RFC 7616
// §3.4.1), the webhook signatures, Kannel's report tokens and every random id are lowercase hex.

extension Sequence<UInt8> {
    /// The bytes as lowercase hex, two digits each (`[0xab, 0x01]` → `ab01`).
    package var hexEncoded: String {
        let digits: StaticString = "0123456789abcdef"
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits.utf8Start[Int(byte >> 4)])
            out.append(digits.utf8Start[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Whether the text is nothing but lowercase hex digits (what `hexEncoded` writes); false when empty.
    package var isLowercaseHex: Bool {
        !isEmpty && utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// The bytes the text spells as hex digits (either case), two per byte; nil for an odd count or
    /// any other character.
    package var hexDecoded: [UInt8]? {
        let digits = Array(utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}

/// The value of one HEXDIG (RFC 5234 B.1, lower case accepted as RFC 5234 §2.3 makes strings
/// case-insensitive); nil for any other byte.
private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
