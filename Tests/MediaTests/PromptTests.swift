import Foundation
import Testing
@testable import Media

/// The repository's `prompts/` folder.
let promptsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("prompts")

@Suite struct PromptTests {
    let catalog: PromptCatalog

    init() throws {
        catalog = try PromptCatalog.load(directory: promptsDirectory)
    }

    @Test func everyLocaleHasEveryPromptNormalized() throws {
        #expect(Set(catalog.libraries.keys) == ["en", "zh-TW"])
        for (locale, lib) in catalog.libraries {
            var bytes = 0
            for name in PromptName.required {
                let pcm = lib[name]
                bytes += pcm.count * 2
                #expect(pcm.count > 800, "\(locale)/\(name) is not empty")
                let peak = pcm.map { abs(Int($0)) }.max() ?? 0
                // Normalized to −3 dBFS peak (23,197).
                #expect(abs(peak - 23197) < 400, "\(locale)/\(name) peak \(peak)")
                // Trimmed: starts and ends near sound, not with long silence.
                let loud = pcm.indices.filter { abs(Int(pcm[$0])) > 164 }
                #expect((loud.first ?? 0) < 80 && pcm.count - (loud.last ?? 0) < 80, "\(locale)/\(name) trimmed")
            }
            #expect(bytes < 330_000, "\(locale) is \(bytes) bytes")
        }
    }

    @Test func resolvesLocales() {
        #expect(catalog.resolve("zh-TW") == "zh-TW")
        #expect(catalog.resolve("zh-Hant-TW") == "zh-TW")
        #expect(catalog.resolve("zh_tw") == "zh-TW")
        #expect(catalog.resolve("zh") == "zh-TW")
        #expect(catalog.resolve("en-US") == "en")
        #expect(catalog.resolve("fr-FR") == "en")
        #expect(catalog.resolve(nil) == "en")
        #expect(catalog.library(for: "zh-TW").locale == "zh-TW")
    }

    @Test func missingPromptIsReported() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-prompts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(WAVFile(samples: [1, 2, 3]).bytes()).write(to: dir.appendingPathComponent("0.wav"))
        do {
            _ = try PromptLibrary.load(directory: dir, locale: "xx")
            Issue.record("loaded a library with missing prompts")
        } catch {
            #expect(error.code == .promptMissing)
        }
    }

    @Test func codeReadoutSaysCodeTwice() throws {
        let script = try PromptComposer().codeReadout("2407")
        let d = PromptName.digit
        #expect(script.prompts == [.codeIs, d(2), d(4), d(0), d(7), .again, d(2), d(4), d(0), d(7)])
        // Gaps between digits, longer gaps around "again".
        let gaps = script.segments.compactMap { if case .silence(let ms) = $0 { ms } else { nil } }
        #expect(gaps.contains(300) && gaps.contains(900))
        // Six digits read as two groups of three.
        let six = try PromptComposer().codeReadout("123456")
        let firstHalf = six.segments.prefix(while: { $0 != .prompt(.again) })
        #expect(firstHalf.filter { $0 == .silence(ms: 600) }.count == 1)
        #expect(throws: MediaError.self) { try PromptComposer().codeReadout("12a4") }
        #expect(throws: MediaError.self) { try PromptComposer().codeReadout("") }
    }

    @Test func encodedOnceAndPlayedFromCache() throws {
        let lib = catalog.library(for: "en")
        let encoded = try EncodedPrompts(library: lib) { G711Codec(law: .muLaw) }
        let script = try PromptComposer().codeReadout("2407")
        var player = encoded.player(for: script)
        let pcm = script.render(with: lib)
        #expect(player.frameCount * 160 == pcm.count)
        var payload: [UInt8] = []
        while let frame = player.nextFrame() {
            #expect(frame.count == 160)
            payload += frame
        }
        #expect(player.nextFrame() == nil)
        // The cached frames are exactly the G.711 encoding of the rendered readout.
        var expected = [UInt8](repeating: 0, count: pcm.count)
        _ = pcm.withUnsafeBufferPointer { p in expected.withUnsafeMutableBytes { G711.encode(.muLaw, p, into: $0) } }
        #expect(payload == expected)
        // A readout takes a plausible time: two readouts of four digits plus phrases.
        #expect((6000...14000).contains(player.durationMs), "\(player.durationMs) ms")
    }

    @Test func opusPromptsDecodeToSpeech() throws {
        let lib = catalog.library(for: "zh-TW")
        let encoded = try EncodedPrompts(library: lib) { () throws(MediaError) -> any AudioTranscoder in try OpusCodec(pcmSampleRate: 8000) }
        #expect(encoded.encodingName == "opus")
        var player = encoded.player(for: try PromptComposer().codeReadout("59"))
        var decoder = try OpusCodec(pcmSampleRate: 8000)
        var out: [Int16] = []
        while let frame = player.nextFrame() { out += decoder.decode(frame) }
        #expect(decoder.decodeErrors == 0)
        let rendered = try PromptComposer().codeReadout("59").render(with: lib)
        #expect(out.count == rendered.count)
        // Same loudness within a few dB.
        let a = AudioLevel.dBm0(of: out), b = AudioLevel.dBm0(of: rendered)
        #expect(abs(a - b) < 3, "opus \(a) dBm0 vs pcm \(b) dBm0")
    }

    /// No prompt (alone or as a readout, raw or through G.711) sets off the DTMF detector.
    @Test func promptsTriggerNoDTMF() throws {
        for (locale, lib) in catalog.libraries {
            var all: [Int16] = []
            for name in PromptName.required { all += lib[name] + [Int16](repeating: 0, count: 800) }
            all += try PromptComposer().codeReadout("0123456789").render(with: lib)
            for law in [G711.Law.muLaw, .aLaw] {
                var coded = [UInt8](repeating: 0, count: all.count)
                var back = [Int16](repeating: 0, count: all.count)
                _ = all.withUnsafeBufferPointer { p in coded.withUnsafeMutableBytes { G711.encode(law, p, into: $0) } }
                _ = coded.withUnsafeBytes { p in back.withUnsafeMutableBufferPointer { G711.decode(law, p, into: $0) } }
                #expect(Signal.detect(back).isEmpty, "\(locale) \(law)")
            }
            #expect(Signal.detect(all).isEmpty, "\(locale)")
        }
    }
}
