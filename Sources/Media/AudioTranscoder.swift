import SDP

/// The encoder and decoder of one ``SDP/AudioCodec`` as the gateway's media path sees it: a frame
/// of 16-bit mono PCM in, one RTP payload out, and back; with loss concealment. Implemented by
/// ``G711Codec`` and ``OpusCodec``. Which codec it is (its RTP name and clock rate, RFC 3551
/// Table 4, RFC 7587 §4.1) is the SDP target's ``SDP/AudioCodec``, named once there.
///
/// All calls write into caller-provided buffers so the per-packet path allocates nothing.
/// Decoding never throws: a payload the codec cannot decode is counted in ``decodeErrors`` and
/// concealed instead.
public protocol AudioTranscoder {
    /// The codec this encodes and decodes.
    var codec: AudioCodec { get }
    /// The sample rate of the PCM this codec takes and gives, Hz.
    var pcmSampleRate: Int { get }
    /// PCM samples in one frame at ``pcmSampleRate`` (20 ms; Opus: the frame duration it was made with).
    var samplesPerFrame: Int { get }
    /// The largest payload ``encode(_:into:)`` writes for one frame.
    var maxPayloadSize: Int { get }
    /// Payloads that could not be decoded (and were concealed instead).
    var decodeErrors: Int { get }

    /// Encodes exactly ``samplesPerFrame`` samples into `payload`; returns the payload length.
    mutating func encode(_ pcm: UnsafeBufferPointer<Int16>, into payload: UnsafeMutableRawBufferPointer) throws(MediaError) -> Int
    /// Decodes one payload into `pcm` (room for at least ``samplesPerFrame``); returns samples written.
    mutating func decode(_ payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int
    /// Produces one frame standing in for a lost packet (packet loss concealment).
    mutating func conceal(into pcm: UnsafeMutableBufferPointer<Int16>) -> Int
    /// Produces one frame for a lost packet using the packet that followed it, where the codec
    /// carries redundancy (Opus in-band FEC, RFC 6716 §2.1.7); otherwise conceals.
    mutating func recoverLost(usingNext payload: UnsafeRawBufferPointer, into pcm: UnsafeMutableBufferPointer<Int16>) -> Int
}

extension AudioTranscoder {
    /// The SDP encoding name (RFC 3551 §6: `PCMU`, `PCMA`; RFC 7587 §7: `opus`).
    public var encodingName: String { codec.encodingName }

    /// The RTP timestamp clock rate, Hz (8000 for G.711; 48000 for Opus, RFC 7587 §4.1).
    public var rtpClockRate: Int { codec.clockRate }

    /// Encodes one frame from an array (convenience; allocates the result).
    public mutating func encode(_ pcm: [Int16]) throws(MediaError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: maxPayloadSize)
        var result: Result<Int, MediaError> = .success(0)
        pcm.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBytes { o in
                do throws(MediaError) { result = .success(try encode(p, into: o)) } catch { result = .failure(error) }
            }
        }
        let n = try result.get()
        out.removeLast(out.count - n)
        return out
    }

    /// Decodes one payload to an array (convenience; allocates the result).
    public mutating func decode(_ payload: [UInt8]) -> [Int16] {
        var out = [Int16](repeating: 0, count: samplesPerFrame)
        let n = payload.withUnsafeBytes { p in out.withUnsafeMutableBufferPointer { decode(p, into: $0) } }
        return Array(out.prefix(n))
    }

    /// One concealment frame as an array (convenience).
    public mutating func conceal() -> [Int16] {
        var out = [Int16](repeating: 0, count: samplesPerFrame)
        let n = out.withUnsafeMutableBufferPointer { conceal(into: $0) }
        return Array(out.prefix(n))
    }

    /// One recovered frame as an array (convenience).
    public mutating func recoverLost(usingNext payload: [UInt8]) -> [Int16] {
        var out = [Int16](repeating: 0, count: samplesPerFrame)
        let n = payload.withUnsafeBytes { p in out.withUnsafeMutableBufferPointer { recoverLost(usingNext: p, into: $0) } }
        return Array(out.prefix(n))
    }
}
