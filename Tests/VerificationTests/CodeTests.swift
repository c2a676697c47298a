import Crypto
import Foundation
import Testing
@testable import Verification

@Suite struct CodeTests {
    @Test(arguments: VerificationCode.lengths)
    func lengthAndDigits(length: Int) {
        let code = VerificationCode.generate(length: length, random: SystemRandomSource())
        #expect(code.count == length)
        #expect(code.allSatisfy(\.isASCII) && code.allSatisfy(\.isNumber))
    }

    /// Every digit appears with about the same frequency (chi-squared over 60,000 digits, 9 d.f.;
    /// 27.88 is the 0.1 % critical value, so a correct generator fails this one run in a thousand).
    @Test func digitsAreUniform() {
        var counts = [Int](repeating: 0, count: 10)
        let random = SeededRandom(seed: 7)
        for _ in 0..<10_000 {
            for c in VerificationCode.generate(length: 6, random: random).utf8 { counts[Int(c - 48)] += 1 }
        }
        let expected = 6_000.0
        let chi2 = counts.reduce(0.0) { $0 + pow2(Double($1) - expected) / expected }
        #expect(chi2 < 27.88, "digit counts \(counts)")
    }

    /// `uniform(below:)` stays in range and has no modulo bias: over 30,000 draws of 0..<3 the
    /// chi-squared statistic (2 d.f.) stays under 13.8, its 0.1 % critical value.
    @Test func uniformHasNoModuloBias() {
        let random = SeededRandom(seed: 1)
        var counts = [0, 0, 0]
        for _ in 0..<30_000 {
            let v = random.uniform(below: 3)
            #expect(v < 3)
            counts[Int(v)] += 1
        }
        let chi2 = counts.reduce(0.0) { $0 + pow2(Double($1) - 10_000) / 10_000 }
        #expect(chi2 < 13.8, "counts \(counts)")
    }

    @Test("the MAC is HMAC-SHA256(secret, id ‖ 0x00 ‖ code), however many were made before (a database written earlier keeps matching)")
    func macIsTheRFC2104MAC() {
        let secret = (0..<32).map { UInt8($0 * 11 & 0xFF) }
        let hasher = CodeHasher(secret: secret)
        let pairs = [("VE1", "123456"), ("VEabcdef", "0000"), ("VE1", "123456"), ("", ""), ("VE" + String(repeating: "f", count: 200), "9876543210")]
        for _ in 0..<3 {
            for (id, code) in pairs {
                let expected = Array(HMAC<SHA256>.authenticationCode(for: Array(id.utf8) + [0] + Array(code.utf8), using: SymmetricKey(data: secret)))
                #expect(hasher.mac(id: id, code: code) == expected, "\(id) \(code)")
                #expect(hasher.matches(id: id, code: code, stored: expected))
                #expect(!hasher.matches(id: id, code: code, stored: Array(expected.dropLast())))
            }
        }
    }

    @Test func macBindsIdAndCode() {
        let hasher = CodeHasher(secret: Array(repeating: 1, count: 32))
        let mac = hasher.mac(id: "VE1", code: "123456")
        #expect(mac.count == 32)
        #expect(hasher.matches(id: "VE1", code: "123456", stored: mac))
        #expect(!hasher.matches(id: "VE1", code: "123457", stored: mac))
        #expect(!hasher.matches(id: "VE2", code: "123456", stored: mac))
        // The separator keeps ("VE1", "23456") apart from ("VE12", "3456").
        #expect(hasher.mac(id: "VE1", code: "23456") != hasher.mac(id: "VE12", code: "3456"))
        #expect(CodeHasher(secret: Array(repeating: 2, count: 32)).mac(id: "VE1", code: "123456") != mac)
    }

    /// The MAC is HMAC-SHA256 over id ‖ 0x00 ‖ code, checked against OpenSSL:
    /// `printf 'a\0001' | openssl dgst -sha256 -hmac Jefe`.
    @Test func macIsHMACSHA256OverIdNulCode() {
        let mac = CodeHasher(secret: Array("Jefe".utf8)).mac(id: "a", code: "1")
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "5879cee786c00c5df35a797d60081ea2f1ac51e96cfbebdb12b4d6937228b071")
    }
}

private func pow2(_ x: Double) -> Double { x * x }
