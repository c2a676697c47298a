// GSM 03.38 (3GPP TS 23.038 §6.2.1) default alphabet and its extension table, written by hand:
// no Swift package carries it, and the table is 138 entries.

/// The GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1) with the §6.2.1.1 extension table.
public enum GSM7 {
    /// Basic table, index = septet value.
    static let basic: [Unicode.Scalar] = Array((
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1B}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà").unicodeScalars)

    /// Extension table (reached by ESC 0x1B): scalar → septet.
    static let extensionTable: [Unicode.Scalar: UInt8] = [
        "\u{0C}": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
    ]

    static let basicIndex: [Unicode.Scalar: UInt8] = {
        var index: [Unicode.Scalar: UInt8] = [:]
        for (value, scalar) in basic.enumerated() where value != 0x1B { index[scalar] = UInt8(value) }
        return index
    }()

    /// The septets of `text` (extension characters as ESC + code), or nil when a character is outside GSM 03.38.
    public static func septets(_ text: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if let value = basicIndex[scalar] {
                result.append(value)
            } else if let value = extensionTable[scalar] {
                result.append(0x1B)
                result.append(value)
            } else {
                return nil
            }
        }
        return result
    }

    /// Decodes septets (one per octet) back to text; unknown escapes decode as a space (§6.2.1.1).
    public static func decode(septets: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        var escaped = false
        for septet in septets {
            let value = septet & 0x7F
            if escaped {
                escaped = false
                scalars.append(extensionTable.first { $0.value == value }?.key ?? " ")
            } else if value == 0x1B {
                escaped = true
            } else {
                scalars.append(basic[Int(value)])
            }
        }
        return String(scalars)
    }

    /// Packs septets into octets, least significant bit first (3GPP TS 23.038 §6.1.2.1.1), after
    /// `fillBits` zero bits (used to align text after a User Data Header, TS 23.040 §9.2.3.24).
    public static func pack(_ septets: [UInt8], fillBits: Int = 0) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity((septets.count * 7 + fillBits + 7) / 8)
        var accumulator: UInt32 = 0
        var bits = fillBits
        for septet in septets {
            accumulator |= UInt32(septet & 0x7F) << UInt32(bits)
            bits += 7
            while bits >= 8 {
                result.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                bits -= 8
            }
        }
        if bits > 0 { result.append(UInt8(truncatingIfNeeded: accumulator)) }
        return result
    }

    /// Unpacks `count` septets from packed octets (inverse of `pack`).
    public static func unpack(_ octets: [UInt8], count: Int, fillBits: Int = 0) -> [UInt8] {
        var result: [UInt8] = []
        for index in 0..<count {
            let bit = fillBits + index * 7
            let byte = bit / 8, shift = bit % 8
            guard byte < octets.count else { break }
            var value = UInt16(octets[byte]) >> UInt16(shift)
            if shift > 1, byte + 1 < octets.count { value |= UInt16(octets[byte + 1]) << UInt16(8 - shift) }
            result.append(UInt8(value & 0x7F))
        }
        return result
    }
}
