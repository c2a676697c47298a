// PromptStore: the digit and message prompts (prompts/<locale>/*.wav, 8 kHz) encoded once per
// locale, codec and — for Opus — encoder settings the peer's a=fmtp asked for (RFC 7587 §7.1),
// shared by every call.

import Foundation
import Media
import SDP
import Synchronization

/// Encoded prompts by locale and codec, built on first use and cached.
public final class PromptStore: Sendable {
    /// The loaded PCM prompts.
    public let catalog: PromptCatalog
    private let cache = Mutex<[String: EncodedPrompts]>([:])

    /// Loads every locale folder under `directory` (see prompts/README.md).
    public init(directory: URL, defaultLocale: String = "en") throws {
        catalog = try PromptCatalog.load(directory: directory, defaultLocale: defaultLocale)
    }

    /// Most cached encodings; a caller can ask for many distinct Opus parameter sets, and those
    /// past this are encoded per call instead of filling memory.
    static let maxCached = 32

    /// The prompts of `locale` (or the closest one) encoded for `codec`; for Opus with the encoder
    /// settings `opus` (the peer's `a=fmtp`, RFC 7587 §6.1; nil: its defaults) asks for, in frames
    /// of `ptime` ms (the negotiated ptime, which `SDPSession` keeps to an Opus frame duration).
    /// G.711 is stored in 20 ms frames whatever `ptime`: ``EncodedPrompts/player(for:ptime:)``
    /// re-cuts them.
    public func encoded(locale: String?, codec: SDP.AudioCodec, opus: OpusParameters? = nil, ptime: Int = 20) throws -> EncodedPrompts {
        let resolved = catalog.resolve(locale)
        let parameters = codec == .opus ? (opus ?? OpusParameters()).forEncoder : nil
        let frame = codec == .opus ? ptime : 20
        let key = "\(resolved)/\(codec.rawValue)" + (parameters.map { "/\($0.fmtp)/\(frame)ms" } ?? "")
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let library = catalog.library(for: resolved)
        let prompts = try EncodedPrompts(library: library) { () throws(MediaError) -> any AudioTranscoder in
            try Self.makeCodec(codec, opus: parameters, frameMilliseconds: frame)
        }
        cache.withLock { if $0.count < Self.maxCached { $0[key] = prompts } }
        return prompts
    }

    /// A codec instance for one call's direction; Opus encodes as `opus` asks, in frames of
    /// `frameMilliseconds`.
    static func makeCodec(_ codec: SDP.AudioCodec, opus: OpusParameters? = nil, frameMilliseconds: Int = 20) throws(MediaError) -> any AudioTranscoder {
        switch codec {
        case .pcmu: G711Codec(law: .muLaw)
        case .pcma: G711Codec(law: .aLaw)
        case .opus: try OpusCodec(pcmSampleRate: 8000, parameters: (opus ?? OpusParameters()).forEncoder, frameMilliseconds: frameMilliseconds)
        }
    }
}
