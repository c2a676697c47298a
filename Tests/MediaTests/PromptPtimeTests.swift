import Testing
@testable import Media

/// What is sent carries exactly the negotiated ptime of audio per packet (RFC 8866 §6.4): G.711
/// prompts re-cut from the 20 ms stream, Opus prompts encoded at ptime (RFC 7587 §6.1).
@Suite struct PromptPtimeTests {
    let library: PromptLibrary

    init() throws {
        library = try PromptCatalog.load(directory: promptsDirectory).library(for: "en")
    }

    @Test(arguments: [10, 20, 30, 40, 60])
    func g711PayloadsArePtimeLongAndTheSameBytes(ptime: Int) throws {
        let encoded = try EncodedPrompts(library: library) { G711Codec(law: .muLaw) }
        let script = try PromptComposer().codeReadout("2407")
        var reference = encoded.player(for: script)
        var stream: [UInt8] = []
        while let frame = reference.nextFrame() { stream += frame }

        var player = encoded.player(for: script, ptime: ptime)
        #expect(player.frameMilliseconds == ptime)
        var sent: [UInt8] = []
        var packets = 0
        while let payload = player.nextFrame() {
            #expect(payload.count == ptime * 8, "packet \(packets) is \(payload.count) bytes")
            sent += payload
            packets += 1
        }
        #expect(packets == (stream.count + ptime * 8 - 1) / (ptime * 8))
        #expect(player.durationMs == packets * ptime)
        // The same audio: the 20 ms stream's bytes, then at most one packet's silence padding.
        #expect(Array(sent.prefix(stream.count)) == stream)
        #expect(sent.count - stream.count < ptime * 8)
        #expect(sent.dropFirst(stream.count).allSatisfy { $0 == encoded.silenceFrame[0] })
    }

    /// Samples in one Opus packet at 48 kHz from its TOC byte (RFC 6716 §3.1): the frame size by
    /// configuration number (Table 2) times the frame count (codes 0–3).
    static func samples(inOpusPacket packet: [UInt8]) -> Int? {
        guard let toc = packet.first else { return nil }
        let config = Int(toc >> 3)
        let frameSamples: Int = switch config {
        case 0...11: [480, 960, 1920, 2880][config % 4]  // SILK: 10, 20, 40, 60 ms
        case 12...15: [480, 960][config % 2]  // Hybrid: 10, 20 ms
        default: [120, 240, 480, 960][config % 4]  // CELT: 2.5, 5, 10, 20 ms
        }
        let frames: Int
        switch toc & 0x03 {
        case 0: frames = 1
        case 1, 2: frames = 2
        default:
            guard packet.count > 1 else { return nil }
            frames = Int(packet[1] & 0x3F)
        }
        return frameSamples * frames
    }

    @Test(arguments: [10, 20, 40, 60])
    func opusPacketsAreEncodedPtimeLong(ptime: Int) throws {
        let encoded = try EncodedPrompts(library: library) { () throws(MediaError) -> any AudioTranscoder in
            try OpusCodec(pcmSampleRate: 8000, frameMilliseconds: ptime)
        }
        #expect(encoded.frameMilliseconds == ptime)
        let script = try PromptComposer().codeReadout("59")
        var player = encoded.player(for: script, ptime: ptime)
        #expect(player.frameMilliseconds == ptime)
        // A decoder with room for the longest frame: it returns what each packet carries.
        var decoder = try OpusCodec(pcmSampleRate: 8000, frameMilliseconds: 60)
        var decoded = 0
        var packets = 0
        while let packet = player.nextFrame() {
            #expect(Self.samples(inOpusPacket: packet) == ptime * 48, "packet \(packets): TOC \(packet.first ?? 0)")
            let pcm = decoder.decode(packet)
            #expect(pcm.count == ptime * 8)
            decoded += pcm.count
            packets += 1
        }
        #expect(decoder.decodeErrors == 0)
        #expect(packets > 0 && decoded == packets * ptime * 8)
        #expect(player.durationMs == decoded / 8)
    }

    @Test func opusRefusesFrameDurationsItCannotMake() {
        for ms in [0, 5, 30, 50, 80] {
            #expect(throws: MediaError.self) { try OpusCodec(pcmSampleRate: 8000, frameMilliseconds: ms) }
        }
    }
}
