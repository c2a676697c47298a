import Testing
import Foundation
@testable import Media

/// Reference values written from ITU-T G.711's definition (Tables 2a/2b), independent of the
/// library's tables: decoded values are the interval midpoints of each segment.
enum G711Reference {
    /// µ-law (Table 2b): code bits inverted; segment e (0–7), step 2^(e+1) in 14-bit units;
    /// the decoder output for mantissa m is the middle of its decision interval,
    /// i.e. 33·2^e … first value of segment e minus 33, plus (2m+1)·2^e. Scaled to 16 bits (×4).
    static func muLaw(_ code: UInt8) -> Int {
        let c = Int(~code)
        let sign = c & 0x80 != 0 ? -1 : 1
        let e = (c >> 4) & 7, m = c & 15
        let segmentStart = (1 << (e + 5)) - 33        // 0, 31, 95, 223, 479, 991, 2015, 4063
        let value = segmentStart + (2 * m + 1) * (1 << e)
        return sign * value * 4
    }

    /// A-law (Table 2a): even bits inverted; segment 0 and 1 step 2 from 0 and 32, segment e ≥ 2
    /// step 2^e from 2^(e+4) (13-bit units); output is the interval midpoint. Scaled ×8.
    static func aLaw(_ code: UInt8) -> Int {
        let c = Int(code ^ 0x55)
        let sign = c & 0x80 != 0 ? 1 : -1
        let e = (c >> 4) & 7, m = c & 15
        let step = e == 0 ? 2 : 1 << e
        let start = e == 0 ? 0 : 1 << (e + 4)
        return sign * (start + m * step + step / 2) * 8
    }
}

@Suite struct G711Tests {
    @Test func anchorValues() {
        // Well-known anchors: µ-law 0xFF/0x7F are ±0, 0x80/0x00 are ±32124 (8031·4);
        // A-law 0xD5/0x55 are ±8, 0xAA/0x2A are ±32256 (4032·8).
        #expect(G711.muLawDecode(0xFF) == 0)
        #expect(G711.muLawDecode(0x7F) == 0)
        #expect(G711.muLawDecode(0x80) == 32124)
        #expect(G711.muLawDecode(0x00) == -32124)
        #expect(G711.aLawDecode(0xD5) == 8)
        #expect(G711.aLawDecode(0x55) == -8)
        #expect(G711.aLawDecode(0xAA) == 32256)
        #expect(G711.aLawDecode(0x2A) == -32256)
        #expect(G711.muLawEncode(0) == 0xFF)
        #expect(G711.aLawEncode(0) == 0xD5)
    }

    @Test func decodeMatchesStandardForAll256Codes() {
        for code in 0...255 {
            #expect(Int(G711.muLawDecode(UInt8(code))) == G711Reference.muLaw(UInt8(code)), "µ-law \(code)")
            #expect(Int(G711.aLawDecode(UInt8(code))) == G711Reference.aLaw(UInt8(code)), "A-law \(code)")
        }
    }

    @Test func all256CodesRoundTrip() {
        for code in 0...255 {
            let c = UInt8(code)
            let mu = G711.muLawEncode(G711.muLawDecode(c))
            // µ-law has two zeros (0xFF, 0x7F); both decode to 0, which encodes as +0.
            #expect(mu == c || (c == 0x7F && mu == 0xFF), "µ-law \(code)")
            #expect(G711.aLawEncode(G711.aLawDecode(c)) == c, "A-law \(code)")
        }
    }

    /// Every 16-bit input lands in the decision interval of the code it is given: the interval
    /// of width one step (2^(e+1) for µ-law, 2 or 2^e for A-law, in 14/13-bit units) centred on
    /// the code's decoder output (G.711 Tables 1/2: outputs are interval midpoints). The top
    /// code also takes everything above (overload).
    @Test func encoderUsesG711DecisionIntervals() {
        for x in -32768...32767 {
            let s = Int16(x)
            let magnitude = Double(abs(x))
            let mu = G711.muLawEncode(s)
            let muE = Int((~mu >> 4) & 7)
            let muStep = Double(1 << (muE + 1)) * 4
            let muY = Double(G711Reference.muLaw(mu))
            let muTop = (~mu & 0x7F) == 0x7F
            if !(magnitude >= abs(muY) - muStep / 2 && (magnitude < abs(muY) + muStep / 2 || muTop)) || (x > 0 && muY < 0) || (x < 0 && muY > 0) {
                Issue.record("µ-law \(x) → code \(mu) value \(muY)"); return
            }
            let a = G711.aLawEncode(s)
            let aE = Int(((a ^ 0x55) >> 4) & 7)
            let aStep = Double(aE == 0 ? 2 : 1 << aE) * 8
            let aY = Double(G711Reference.aLaw(a))
            let aTop = ((a ^ 0x55) & 0x7F) == 0x7F
            if !(magnitude >= abs(aY) - aStep / 2 && (magnitude < abs(aY) + aStep / 2 || aTop)) || (x > 0 && aY < 0) || (x < 0 && aY > 0) {
                Issue.record("A-law \(x) → code \(a) value \(aY)"); return
            }
        }
    }

    @Test func bufferCodecRoundTrip() {
        let pcm: [Int16] = (0..<160).map { Int16(8000 * sin(Double($0) * 0.3)) }
        for law in [G711.Law.muLaw, .aLaw] {
            var payload = [UInt8](repeating: 0, count: 160)
            var back = [Int16](repeating: 0, count: 160)
            let n = pcm.withUnsafeBufferPointer { p in payload.withUnsafeMutableBytes { G711.encode(law, p, into: $0) } }
            let m = payload.withUnsafeBytes { p in back.withUnsafeMutableBufferPointer { G711.decode(law, p, into: $0) } }
            #expect(n == 160 && m == 160)
            for i in 0..<160 {
                // Quantization error is at most half a step: 1/32 of the magnitude plus a little.
                #expect(abs(Int(back[i]) - Int(pcm[i])) <= abs(Int(pcm[i])) / 16 + 16)
            }
        }
    }
}
