// G.711 µ-law and A-law (ITU-T G.711, 11/1988), table driven.
//
// Written by hand because it is a few lines of arithmetic and a pair of lookup tables: no Swift
// package offers it and linking a C library (spandsp) for it would cost more than it saves.
// Decoding is a 256-entry table; encoding is a 65,536-entry table indexed by the 16-bit sample,
// built once from the segment rules of G.711 (Tables 1a/2a for A-law, 1b/2b for µ-law). Both
// encode and decode write into caller-provided buffers and allocate nothing.

/// G.711 companding laws (ITU-T G.711 §2, §3) on 16-bit linear PCM.
///
/// Linear values are 16-bit: µ-law's 14-bit range is scaled by 4, A-law's 13-bit range by 8, so
/// the full-scale decoded values are ±32124 (µ-law) and ±32256 (A-law).
public enum G711: Sendable {
    /// The two laws; the RTP payload types are 0 (PCMU) and 8 (PCMA), RFC 3551 §4.5.14.
    public enum Law: Sendable, Equatable {
        /// µ-law (PCMU), used in North America and Japan.
        case muLaw
        /// A-law (PCMA), used in Europe and most of the world.
        case aLaw
    }

    // MARK: Scalar rules (G.711 Tables 2a, 2b)

    /// Decodes one µ-law code to 16-bit linear: `((2m + 33) << e) - 33` in 14-bit units, times 4 (G.711 Table 2b).
    @inlinable
    public static func muLawDecode(_ code: UInt8) -> Int16 {
        muLawDecodeTable[Int(code)]
    }

    /// Decodes one A-law code to 16-bit linear: `2m + 1` (segment 0) or `(2m + 33) << (e - 1)` in 13-bit units, times 8 (G.711 Table 2a).
    @inlinable
    public static func aLawDecode(_ code: UInt8) -> Int16 {
        aLawDecodeTable[Int(code)]
    }

    /// Encodes one 16-bit sample to µ-law (G.711 Table 2b decision values).
    @inlinable
    public static func muLawEncode(_ sample: Int16) -> UInt8 {
        muLawEncodeTable[Int(UInt16(bitPattern: sample))]
    }

    /// Encodes one 16-bit sample to A-law (G.711 Table 2a decision values).
    @inlinable
    public static func aLawEncode(_ sample: Int16) -> UInt8 {
        aLawEncodeTable[Int(UInt16(bitPattern: sample))]
    }

    // MARK: Buffers

    /// Encodes `pcm` into `output` (which must hold `pcm.count` bytes); returns the bytes written.
    @inlinable
    public static func encode(_ law: Law, _ pcm: UnsafeBufferPointer<Int16>, into output: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(pcm.count, output.count)
        switch law {
        case .muLaw:
            muLawEncodeTable.withUnsafeBufferPointer { table in
                for i in 0..<n { output[i] = table[Int(UInt16(bitPattern: pcm[i]))] }
            }
        case .aLaw:
            aLawEncodeTable.withUnsafeBufferPointer { table in
                for i in 0..<n { output[i] = table[Int(UInt16(bitPattern: pcm[i]))] }
            }
        }
        return n
    }

    /// Decodes `payload` into `output` (which must hold `payload.count` samples); returns the samples written.
    @inlinable
    public static func decode(_ law: Law, _ payload: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Int16>) -> Int {
        let n = min(payload.count, output.count)
        let table: [Int16]
        switch law {
        case .muLaw: table = muLawDecodeTable
        case .aLaw: table = aLawDecodeTable
        }
        table.withUnsafeBufferPointer { table in
            for i in 0..<n { output[i] = table[Int(payload[i])] }
        }
        return n
    }

    // MARK: Tables

    /// µ-law code → 16-bit linear.
    public static let muLawDecodeTable: [Int16] = (0...255).map { muLawDecodeRule(UInt8($0)) }
    /// A-law code → 16-bit linear.
    public static let aLawDecodeTable: [Int16] = (0...255).map { aLawDecodeRule(UInt8($0)) }
    /// 16-bit linear (as its bit pattern) → µ-law code.
    public static let muLawEncodeTable: [UInt8] = (0...65535).map { muLawEncodeRule(Int16(bitPattern: UInt16($0))) }
    /// 16-bit linear (as its bit pattern) → A-law code.
    public static let aLawEncodeTable: [UInt8] = (0...65535).map { aLawEncodeRule(Int16(bitPattern: UInt16($0))) }

    /// G.711 Table 2b: the µ-law code is the inverted sign/segment/mantissa byte.
    static func muLawDecodeRule(_ code: UInt8) -> Int16 {
        let c = ~code
        let exponent = Int((c >> 4) & 0x07)
        let mantissa = Int(c & 0x0F)
        let magnitude14 = ((2 * mantissa + 33) << exponent) - 33
        let value = magnitude14 * 4
        return Int16(c & 0x80 != 0 ? -value : value)
    }

    /// G.711 Table 2a: the A-law code has its even bits inverted (XOR 0x55); sign bit 1 means positive.
    static func aLawDecodeRule(_ code: UInt8) -> Int16 {
        let c = code ^ 0x55
        let exponent = Int((c >> 4) & 0x07)
        let mantissa = Int(c & 0x0F)
        let magnitude13 = exponent == 0 ? 2 * mantissa + 1 : (2 * mantissa + 33) << (exponent - 1)
        let value = magnitude13 * 8
        return Int16(c & 0x80 != 0 ? value : -value)
    }

    /// µ-law encoder: with the bias 33 (132 in 16-bit units) added, the magnitude lies in segment
    /// `e` when it is in `[128 << e, 256 << e)`, and the mantissa is the next four bits: the
    /// decision values of Table 2b, each quantized value the midpoint of its interval.
    static func muLawEncodeRule(_ sample: Int16) -> UInt8 {
        let negative = sample < 0
        // 32635 + 132 stays below 256 << 7: larger magnitudes clip to the last code.
        let biased = min(abs(Int(sample)), 32635) + 132
        var exponent = 0
        while exponent < 7 && biased >= (256 << exponent) { exponent += 1 }
        let mantissa = (biased >> (exponent + 3)) & 0x0F
        let byte = UInt8((negative ? 0x80 : 0x00) | (exponent << 4) | mantissa)
        return ~byte
    }

    /// A-law encoder: segment 0 covers magnitudes `[0, 256)` in steps of 16, segment `e ≥ 1`
    /// covers `[128 << e, 256 << e)` in steps of `8 << e` (16-bit units; Table 2a decision values).
    static func aLawEncodeRule(_ sample: Int16) -> UInt8 {
        let negative = sample < 0
        let magnitude = min(abs(Int(sample)), 32767)
        var exponent = 0
        var mantissa = 0
        if magnitude < 256 {
            mantissa = magnitude >> 4
        } else {
            exponent = 1
            while exponent < 7 && magnitude >= (256 << exponent) { exponent += 1 }
            mantissa = (magnitude >> (exponent + 3)) & 0x0F
        }
        let byte = UInt8((negative ? 0x00 : 0x80) | (exponent << 4) | mantissa)
        return byte ^ 0x55
    }
}
