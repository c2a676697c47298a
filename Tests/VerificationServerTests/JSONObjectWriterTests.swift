import Foundation
import NIOCore
import Testing
import TestSupport
import Verification
@testable import VerificationServer

/// `JSONObjectWriter` writes the verification resource byte for byte as `JSONEncoder.api` does:
/// hostile strings (every control character, quotes, backslashes, slashes, non-ASCII), dates on
/// every boundary, absent and present optionals.
@Suite struct JSONObjectWriterTests {
    /// Characters a string field is built from: each kind JSON treats differently.
    static let alphabet: [String] = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        + ["\"", "\\", "/", "\u{7F}", "a", "Z", "0", " ", "é", "中", "😀", "\u{2028}", "\u{2029}", "\u{FEFF}", "+886"]

    static func string(_ rng: inout SplitMix64) -> String {
        (0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
    }

    static func date(_ rng: inout SplitMix64) -> Date {
        let boundaries: [Double] = [0, -0.5, -1, 86_399.999, 951_782_400, 951_868_800, 4_107_542_400, 253_402_300_799.9, -2_208_988_800,
                                    -12_219_292_800, -12_219_292_800.5, -12_219_292_801]
        if Bool.random(using: &rng) { return Date(timeIntervalSince1970: boundaries.randomElement(using: &rng)!) }
        return Date(timeIntervalSince1970: Double.random(in: -62_135_596_800...253_402_300_799, using: &rng))
    }

    @Test("the resource's JSON is JSONEncoder.api's, for 5,000 random resources (seed printed on failure)")
    func resourceMatchesTheEncoder() throws {
        for seed in UInt64(1)...5_000 {
            var rng = SplitMix64(seed: seed)
            var v = Verification(id: Self.string(&rng), to: Self.string(&rng), region: "TW", channel: VerificationMethod.allCases.randomElement(using: &rng)!,
                                 locale: Self.string(&rng), codeLength: 6, codeMAC: nil, createdAt: Self.date(&rng), expiresAt: Self.date(&rng),
                                 systemNumber: Bool.random(using: &rng) ? Self.string(&rng) : nil)
            v.updatedAt = Self.date(&rng)
            v.sendCount = Int.random(in: -5...Int.max, using: &rng)
            v.checkAttempts = Int.random(in: 0...10, using: &rng)
            v.failureReason = Bool.random(using: &rng) ? Self.string(&rng) : nil
            var resource = VerificationResource(v, maxAttempts: Int.random(in: 0...10, using: &rng),
                                                code: Bool.random(using: &rng) ? Self.string(&rng) : nil,
                                                valid: [true, false, nil].randomElement(using: &rng)!)
            resource.url = Bool.random(using: &rng) ? "https://example.test/v/" + Self.string(&rng) : nil
            let expected = try JSONEncoder.api.encode(resource)
            let written = Data(buffer: resource.json)
            try #require(written == expected, "seed \(seed): \(String(decoding: written, as: UTF8.self)) ≠ \(String(decoding: expected, as: UTF8.self))")
        }
    }

    @Test("dates: every 97th day from the Gregorian reform to 9999 is the Gregorian calendar's date")
    func civilDates() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: JSONObjectWriter.gregorianReform / 86_400, through: 2_932_896, by: 97) {
            let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(day) * 86_400))
            let civil = JSONObjectWriter.civil(daysSince1970: day)
            #expect(civil.year == Int64(parts.year!) && civil.month == parts.month! && civil.day == parts.day!, "day \(day)")
        }
    }
}
