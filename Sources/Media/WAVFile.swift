// WAV (RIFF/WAVE, PCM) reader and writer. Written by hand: the format is a few fixed headers,
// no Swift server package reads it, and AVFoundation is not on Linux.

/// A RIFF/WAVE file holding 16-bit signed little-endian PCM, mono (Microsoft RIFF, `WAVE_FORMAT_PCM`).
///
/// Reading checks the format and fails with a clear ``MediaError`` for anything else
/// (stereo, 8- or 24-bit, float, compressed, truncated). Unknown chunks (`LIST`, `fact`) are skipped.
public struct WAVFile: Sendable, Equatable {
    /// Sample rate, Hz.
    public var sampleRate: Int
    /// The samples.
    public var samples: [Int16]

    /// Largest file accepted by default: 16 MiB (about 17 minutes at 8 kHz).
    public static let defaultMaximumSize = 16 << 20

    /// Creates a file from samples.
    public init(sampleRate: Int = 8000, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    /// Parses a WAV file; if `requiredSampleRate` is given, another rate is an error.
    public init(bytes: [UInt8], requiredSampleRate: Int? = nil, maximumSize: Int = WAVFile.defaultMaximumSize) throws(MediaError) {
        guard bytes.count <= maximumSize else {
            throw MediaError(.wavTooLarge, "WAV file of \(bytes.count) bytes is over the \(maximumSize)-byte limit")
        }
        guard bytes.count >= 12, Self.tag(bytes, 0) == "RIFF", Self.tag(bytes, 8) == "WAVE" else {
            throw MediaError(.wavMalformed, "not a RIFF/WAVE file")
        }
        var offset = 12
        var format: (tag: Int, channels: Int, rate: Int, bits: Int)?
        while offset + 8 <= bytes.count {
            let id = Self.tag(bytes, offset)
            let size = Int(Self.u32(bytes, offset + 4))
            let body = offset + 8
            guard size <= bytes.count - body else {
                // A truncated final data chunk is common in streamed files; anything else is malformed.
                if id == "data", let f = format {
                    self = try Self.decodeData(bytes[body...], format: f, requiredSampleRate: requiredSampleRate)
                    return
                }
                throw MediaError(.wavMalformed, "chunk '\(id)' of \(size) bytes runs past the end of the file")
            }
            switch id {
            case "fmt ":
                guard size >= 16 else { throw MediaError(.wavMalformed, "fmt chunk of \(size) bytes is too short") }
                var tag = Int(Self.u16(bytes, body))
                if tag == 0xFFFE, size >= 40 {  // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes.
                    tag = Int(Self.u16(bytes, body + 24))
                }
                format = (tag, Int(Self.u16(bytes, body + 2)), Int(Self.u32(bytes, body + 4)), Int(Self.u16(bytes, body + 14)))
            case "data":
                guard let f = format else { throw MediaError(.wavMalformed, "data chunk before fmt chunk") }
                self = try Self.decodeData(bytes[body..<(body + size)], format: f, requiredSampleRate: requiredSampleRate)
                return
            default:
                break
            }
            offset = body + size + (size & 1)
        }
        throw MediaError(.wavMalformed, format == nil ? "no fmt chunk" : "no data chunk")
    }

    private static func decodeData(
        _ data: ArraySlice<UInt8>, format f: (tag: Int, channels: Int, rate: Int, bits: Int), requiredSampleRate: Int?
    ) throws(MediaError) -> WAVFile {
        guard f.tag == 1 else {
            throw MediaError(.wavUnsupportedFormat, "WAV format tag \(f.tag) is not PCM (1); convert with: sox in.wav -r 8000 -c 1 -b 16 -e signed-integer out.wav")
        }
        guard f.channels == 1 else { throw MediaError(.wavUnsupportedFormat, "WAV has \(f.channels) channels; only mono is supported") }
        guard f.bits == 16 else { throw MediaError(.wavUnsupportedFormat, "WAV has \(f.bits)-bit samples; only 16-bit is supported") }
        if let r = requiredSampleRate, r != f.rate {
            throw MediaError(.wavUnsupportedFormat, "WAV is sampled at \(f.rate) Hz; \(r) Hz is required")
        }
        let count = data.count / 2
        var samples = [Int16](repeating: 0, count: count)
        var i = data.startIndex
        for n in 0..<count {
            samples[n] = Int16(bitPattern: UInt16(data[i]) | UInt16(data[i + 1]) << 8)
            i += 2
        }
        return WAVFile(sampleRate: f.rate, samples: samples)
    }

    /// The file as bytes: a 44-byte canonical header and the samples.
    public func bytes() -> [UInt8] {
        let dataSize = samples.count * 2
        var out: [UInt8] = []
        out.reserveCapacity(44 + dataSize)
        out += Array("RIFF".utf8); Self.put32(&out, UInt32(36 + dataSize)); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); Self.put32(&out, 16)
        Self.put16(&out, 1); Self.put16(&out, 1)
        Self.put32(&out, UInt32(sampleRate)); Self.put32(&out, UInt32(sampleRate * 2))
        Self.put16(&out, 2); Self.put16(&out, 16)
        out += Array("data".utf8); Self.put32(&out, UInt32(dataSize))
        for s in samples {
            let u = UInt16(bitPattern: s)
            out.append(UInt8(u & 0xFF)); out.append(UInt8(u >> 8))
        }
        return out
    }

    private static func tag(_ b: [UInt8], _ o: Int) -> String {
        String(decoding: b[o..<(o + 4)], as: UTF8.self)
    }
    private static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }
    private static func put16(_ out: inout [UInt8], _ v: UInt16) { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8)) }
    private static func put32(_ out: inout [UInt8], _ v: UInt32) {
        for k in 0..<4 { out.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) }
    }
}
