import NIOCore
@testable import SMPP

/// Bytes from a hex string with spaces (as written from the SMPP 3.4 field tables).
func hex(_ string: String) -> [UInt8] {
    let digits = string.filter { !$0.isWhitespace }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// ASCII of a string followed by NUL: a C-Octet String (§3.1).
func cstr(_ string: String) -> [UInt8] { Array(string.utf8) + [0] }

func decodeOne(_ bytes: [UInt8]) throws -> SMPPPDU? {
    var buffer = ByteBuffer(bytes: bytes)
    return try SMPPPDUDecoder().parse(&buffer)
}
