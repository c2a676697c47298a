/// The one error type of the Media target, with a stable machine-readable ``Code``.
///
/// Bad input (a malformed WAV file, an unknown SIP INFO body, an Opus setting libopus refuses)
/// becomes a `MediaError`; nothing in this target traps on peer input.
public struct MediaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Stable codes; the raw values never change once published.
    public enum Code: String, Sendable, Equatable {
        /// A WAV file is not RIFF/WAVE, is truncated or lacks a `fmt ` or `data` chunk.
        case wavMalformed = "media.wav.malformed"
        /// A well-formed WAV file in a format other than PCM 16-bit mono (or at another rate than asked).
        case wavUnsupportedFormat = "media.wav.unsupported_format"
        /// A WAV file (or prompt) above the configured size limit.
        case wavTooLarge = "media.wav.too_large"
        /// A SIP INFO DTMF body that does not parse (RFC 2976 usage; `application/dtmf-relay`, `application/dtmf`).
        case sipInfoMalformed = "media.sip_info.malformed"
        /// A SIP INFO content type other than `application/dtmf-relay` or `application/dtmf`.
        case sipInfoUnsupportedType = "media.sip_info.unsupported_type"
        /// libopus refused to create an encoder or decoder, or a setting.
        case opusFailed = "media.opus.failed"
        /// A PCM frame of the wrong length or an output buffer too small.
        case frameSize = "media.frame_size"
        /// A prompt file is missing from a prompt directory.
        case promptMissing = "media.prompt.missing"
        /// A code to read out contains characters other than the digits 0–9.
        case invalidCode = "media.prompt.invalid_code"
    }

    /// The stable code.
    public var code: Code
    /// A human-readable explanation (not stable).
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
