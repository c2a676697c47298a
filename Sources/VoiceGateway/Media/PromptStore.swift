// PromptStore: the digit and message prompts (prompts/<locale>/*.wav, 8 kHz) encoded once per
// locale and codec, shared by every call.

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

    /// The prompts of `locale` (or the closest one) encoded for `codec`.
    public func encoded(locale: String?, codec: SDP.AudioCodec) throws -> EncodedPrompts {
        let resolved = catalog.resolve(locale)
        let key = "\(resolved)/\(codec.rawValue)"
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let library = catalog.library(for: resolved)
        let prompts = try EncodedPrompts(library: library) { () throws(MediaError) -> any AudioTranscoder in try Self.makeCodec(codec) }
        cache.withLock { $0[key] = prompts }
        return prompts
    }

    /// A codec instance for one call's direction.
    static func makeCodec(_ codec: SDP.AudioCodec) throws(MediaError) -> any AudioTranscoder {
        switch codec {
        case .pcmu: G711Codec(law: .muLaw)
        case .pcma: G711Codec(law: .aLaw)
        case .opus: try OpusCodec(pcmSampleRate: 8000)
        }
    }
}
