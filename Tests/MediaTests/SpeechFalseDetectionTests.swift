import Foundation
import Testing
import TestSupport
@testable import Media

/// Talk-off: no DTMF digit from speech. At least ten minutes of espeak-ng speech, English and
/// Mandarin, several voices, made with espeak-ng and sox (cached in a temp folder), fed to the
/// detector raw and through µ-law. Needs `espeak-ng` and `sox`: skipped locally when missing,
/// a failure when `CI=true`.
@Suite(.serialized) struct SpeechFalseDetectionTests {
    static let english = """
        Thank you for calling. Your verification code is two four zero seven. Again, two four zero seven. \
        Please enter the code shown on the web page, then press the pound key. If you did not ask for a code, \
        you can hang up now and nothing will happen. Numbers one, two, three, four, five, six, seven, eight, \
        nine and zero are read slowly so that everyone can follow them. The weather tomorrow will be mostly \
        sunny with a light breeze from the north west, and temperatures between twelve and nineteen degrees. \
        Many people prefer to receive a call instead of a text message, because the voice is easier to hear \
        while driving or walking. She sells sea shells by the sea shore; the shells she sells are surely sea \
        shells. Peter Piper picked a peck of pickled peppers. How much wood would a woodchuck chuck if a \
        woodchuck could chuck wood? The quick brown fox jumps over the lazy dog, and the dog does not mind \
        at all. Hello, hello, can you hear me? Yes, I can hear you very well, thank you. Please hold the line \
        while we connect your call. Your call is important to us. Press one for sales, press two for support, \
        or stay on the line to speak to an operator. Goodbye, and have a wonderful evening. Oh, ah, eee, ooh, \
        mmm, hmm, whistle, sing, la la la, do re mi fa so la ti do.
        """
    static let mandarin = """
        感謝您的來電。您的驗證碼是二四零七。再說一次，二四零七。請輸入網頁上顯示的驗證碼，然後按井字鍵。\
        如果您沒有申請驗證碼，請直接掛斷電話，不會有任何影響。明天天氣大致晴朗，北風微弱，氣溫在十二度到十九度之間。\
        很多人喜歡接電話而不是收簡訊，因為開車或走路的時候，聽聲音比較方便。四是四，十是十，十四是十四，四十是四十。\
        吃葡萄不吐葡萄皮，不吃葡萄倒吐葡萄皮。您好，您好，聽得到嗎？聽得到，非常清楚，謝謝。請稍候，我們正在為您轉接。\
        業務請按一，客服請按二，或留在線上由專人為您服務。再見，祝您有美好的一天。啊，哦，咿，嗯，啦啦啦，哆來咪發嗦啦西哆。
        """

    static let voices: [(voice: String, pitch: Int, text: String)] = [
        ("en-us", 50, english), ("en-us+f3", 60, english), ("en-gb+m3", 40, english),
        ("en-gb-scotland+f5", 70, english), ("en-029+klatt3", 50, english),
        ("cmn-latn-pinyin", 50, mandarin), ("cmn-latn-pinyin+f2", 65, mandarin),
        ("cmn-latn-pinyin+m3", 35, mandarin), ("cmn-latn-pinyin+f4", 80, mandarin),
        ("cmn-latn-pinyin+klatt2", 50, mandarin),
    ]

    static var toolsMissingIsFailure: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func run(_ tool: String, _ args: [String]) async -> Bool {
        guard let process = try? await ChildProcess("/usr/bin/env", [tool] + args) else { return false }
        return await process.exitStatus() == 0
    }

    /// 8 kHz mono PCM of `text` spoken by `voice`, cached by voice, pitch and text.
    static func speech(voice: String, pitch: Int, text: String) async throws -> [Int16]? {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("verigate-speech-cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(voice)|\(pitch)|\(text)".utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        let out = cache.appendingPathComponent("\(voice)-\(String(hash, radix: 16)).wav")
        if !FileManager.default.fileExists(atPath: out.path) {
            let raw = cache.appendingPathComponent("raw-\(UUID().uuidString).wav")
            defer { try? FileManager.default.removeItem(at: raw) }
            guard await run("espeak-ng", ["-v", voice, "-p", String(pitch), "-w", raw.path, "--", text]),
                  await run("sox", ["-D", raw.path, "-b", "16", "-e", "signed-integer", out.path + ".tmp.wav", "remix", "-", "rate", "-h", "8000", "norm", "-3"])
            else { return nil }
            try FileManager.default.moveItem(atPath: out.path + ".tmp.wav", toPath: out.path)
        }
        return try WAVFile(bytes: [UInt8](Data(contentsOf: out)), requiredSampleRate: 8000).samples
    }

    @Test func noDigitFromTenMinutesOfSpeech() async throws {
        guard await Self.run("espeak-ng", ["--version"]), await Self.run("sox", ["--version"]) else {
            if Self.toolsMissingIsFailure { Issue.record("espeak-ng and sox are required (apt-get install -y espeak-ng sox)") }
            return
        }
        var totalSamples = 0
        for (voice, pitch, text) in Self.voices {
            // espeak-ng and sox run on a thread of their own, not on the cooperative pool.
            guard let pcm = try await Self.speech(voice: voice, pitch: pitch, text: text) else {
                Issue.record("could not synthesize with \(voice)")
                continue
            }
            totalSamples += pcm.count
            #expect(pcm.count > 8000 * 30, "\(voice) spoke \(pcm.count / 8000) s")
            var detector = DTMFDetector()
            let raw = detector.process(pcm)
            #expect(raw.isEmpty, "\(voice): \(raw)")
            // And after µ-law, as the gateway hears it from a G.711 call.
            var coded = [UInt8](repeating: 0, count: pcm.count)
            var back = [Int16](repeating: 0, count: pcm.count)
            _ = pcm.withUnsafeBufferPointer { p in coded.withUnsafeMutableBytes { G711.encode(.muLaw, p, into: $0) } }
            _ = coded.withUnsafeBytes { p in back.withUnsafeMutableBufferPointer { G711.decode(.muLaw, p, into: $0) } }
            var detector2 = DTMFDetector()
            let law = detector2.process(back)
            #expect(law.isEmpty, "\(voice) µ-law: \(law)")
        }
        #expect(totalSamples >= 8000 * 600, "only \(totalSamples / 8000) s of speech")
        print("talk-off: \(totalSamples / 8000) s of speech, no digits")
    }
}
