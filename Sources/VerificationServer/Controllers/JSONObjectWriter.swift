// A writer of flat JSON objects into a ByteBuffer, byte for byte what `JSONEncoder.api` (sorted
// keys, ISO 8601 dates, slashes unescaped) makes of the same fields. Written by hand for the
// verification resource, the body of nearly every API answer: Foundation's encoder spent ≈ 14 µs
// on it per check (6 % of a check's CPU: generic containers, a dictionary to sort the keys, a date
// formatter), this ≈ 1 µs. No mirrored library writes JSON without Codable. JSON is RFC 8259;
// `JSONObjectWriterTests` holds it to `JSONEncoder.api`'s output.
import Foundation
import NIOCore

/// Appends `"key":value` pairs to one JSON object. The caller gives the keys in `JSONEncoder.api`'s
/// order (sorted), each once; nil values are left out, as `Encodable`'s synthesized `encodeIfPresent`
/// does.
struct JSONObjectWriter {
    private var buffer: ByteBuffer
    private var empty = true

    /// An object about to receive its first field; `capacity` is a hint for the buffer.
    init(capacity: Int = 512) {
        buffer = ByteBuffer()
        buffer.reserveCapacity(capacity)
        buffer.writeInteger(UInt8(ascii: "{"))
    }

    /// The finished object.
    consuming func finish() -> ByteBuffer {
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    /// A string field (RFC 8259 §7), left out when nil.
    mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key)
        writeString(value)
    }

    /// An integer field.
    mutating func field(_ key: StaticString, _ value: Int) {
        self.key(key)
        buffer.writeString(String(value))
    }

    /// A boolean field, left out when nil.
    mutating func field(_ key: StaticString, _ value: Bool?) {
        guard let value else { return }
        self.key(key)
        buffer.writeStaticString(value ? "true" : "false")
    }

    /// A date field as `JSONEncoder`'s `.iso8601` writes it: UTC, whole seconds rounded down,
    /// `yyyy-MM-ddTHH:mm:ssZ`. Foundation's calendar is Julian before the Gregorian reform
    /// (1582-10-15); such dates, which no server clock makes, go through its formatter.
    mutating func field(_ key: StaticString, _ value: Date) {
        self.key(key)
        let seconds = Int64(value.timeIntervalSince1970.rounded(.down))
        guard seconds >= Self.gregorianReform else {
            buffer.writeString("\"" + value.formatted(.iso8601) + "\"")
            return
        }
        let (days, second) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (day, secondOfDay) = second < 0 ? (days - 1, second + 86_400) : (days, second)
        let (year, month, dayOfMonth) = Self.civil(daysSince1970: day)
        buffer.writeInteger(UInt8(ascii: "\""))
        writeDigits(Int(year), width: 4)
        buffer.writeInteger(UInt8(ascii: "-"))
        writeDigits(month, width: 2)
        buffer.writeInteger(UInt8(ascii: "-"))
        writeDigits(dayOfMonth, width: 2)
        buffer.writeInteger(UInt8(ascii: "T"))
        writeDigits(Int(secondOfDay / 3_600), width: 2)
        buffer.writeInteger(UInt8(ascii: ":"))
        writeDigits(Int(secondOfDay % 3_600 / 60), width: 2)
        buffer.writeInteger(UInt8(ascii: ":"))
        writeDigits(Int(secondOfDay % 60), width: 2)
        buffer.writeStaticString("Z\"")
    }

    private mutating func key(_ key: StaticString) {
        if !empty { buffer.writeInteger(UInt8(ascii: ",")) }
        empty = false
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(key)
        buffer.writeStaticString("\":")
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\b \t \n \f \r` or `\u00XX`
    /// (lowercase hex), everything else (`/` and non-ASCII included) as its UTF-8 bytes.
    private mutating func writeString(_ value: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var start = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x08: buffer.writeStaticString("\\b")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0C: buffer.writeStaticString("\\f")
                case 0x0D: buffer.writeStaticString("\\r")
                default:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(Self.hex[Int(byte >> 4)])
                    buffer.writeInteger(Self.hex[Int(byte & 0x0F)])
                }
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start...]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// 1582-10-15T00:00:00Z, the first day of the Gregorian calendar, in seconds since 1970.
    static let gregorianReform: Int64 = -12_219_292_800

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// `value` in decimal, zero-padded to at least `width` digits.
    private mutating func writeDigits(_ value: Int, width: Int) {
        let digits = String(value)
        for _ in digits.utf8.count..<max(width, digits.utf8.count) { buffer.writeInteger(UInt8(ascii: "0")) }
        buffer.writeString(digits)
    }

    /// The (proleptic) Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(daysSince1970 days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
