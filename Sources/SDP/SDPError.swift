/// The one error type of the `SDP` module (docs/ARCHITECTURE.md habit 5): a stable `code`, the 1-based line
/// number where parsing stopped (when known) and a human-readable detail.
///
/// The SIP layer maps `.noCommonCodec`, `.noAcceptableMedia` and `.noUsableCrypto` to `488 Not Acceptable Here`
/// (RFC 3261 §13.3.1.3, RFC 3264 §6) and every parse error to `400 Bad Request`.
public struct SDPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Stable error codes; their raw values never change.
    public enum Code: String, Sendable, Equatable {
        /// The body exceeds `SDPParser.Limits.maxBodyBytes`, `maxLines`, `maxLineLength` or `maxMediaDescriptions`.
        case tooLarge = "sdp.too_large"
        /// The body is not UTF-8 text.
        case notText = "sdp.not_text"
        /// A line is not of the form `<type>=<value>` (RFC 8866 §5).
        case malformedLine = "sdp.malformed_line"
        /// A required line (`v=`, `o=`, `s=`, `t=`) is missing or out of order (RFC 8866 §5).
        case missingLine = "sdp.missing_line"
        /// `v=` is not `0` (RFC 8866 §5.1).
        case unsupportedVersion = "sdp.unsupported_version"
        /// The `o=` line is malformed (RFC 8866 §5.2).
        case badOrigin = "sdp.bad_origin"
        /// A `c=` line is malformed (RFC 8866 §5.7).
        case badConnection = "sdp.bad_connection"
        /// A `t=` line is malformed (RFC 8866 §5.9).
        case badTiming = "sdp.bad_timing"
        /// A `b=` line is malformed (RFC 8866 §5.8).
        case badBandwidth = "sdp.bad_bandwidth"
        /// An `m=` line is malformed (RFC 8866 §5.14).
        case badMedia = "sdp.bad_media"
        /// An `a=rtpmap`, `a=fmtp`, `a=ptime` or `a=maxptime` value is malformed (RFC 8866 §6).
        case badAttribute = "sdp.bad_attribute"
        /// A media stream has no connection address at either level (RFC 8866 §5.7).
        case missingConnection = "sdp.missing_connection"
        /// The offer has audio but none of our codecs (RFC 3264 §6): SIP answers 488.
        case noCommonCodec = "sdp.no_common_codec"
        /// The offer has no stream we can accept at all, e.g. video only (RFC 3264 §6): SIP answers 488.
        case noAcceptableMedia = "sdp.no_acceptable_media"
        /// An answer does not match our offer (RFC 3264 §6: same number and order of m-lines).
        case answerMismatch = "sdp.answer_mismatch"
        /// An `a=crypto` line is malformed: tag, key method, base64, key length, lifetime, MKI (RFC 4568 §9.1).
        case badCrypto = "sdp.bad_crypto"
        /// An `a=crypto` line names a crypto suite we do not support (RFC 4568 §6.2); offer/answer skips it.
        case unknownCryptoSuite = "sdp.unknown_crypto_suite"
        /// SRTP is required (or the stream is `RTP/SAVP`) but the offer has no `a=crypto` we can use
        /// (RFC 4568 §7.1.1): SIP answers 488.
        case noUsableCrypto = "sdp.no_usable_crypto"
    }

    /// The stable code.
    public var code: Code
    /// 1-based line number in the parsed text, when the error comes from a line.
    public var line: Int?
    /// What was wrong, for logs.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, line: Int? = nil, _ detail: String) {
        self.code = code
        self.line = line
        self.detail = detail
    }

    /// `code (line N): detail`.
    public var description: String {
        if let line { return "\(code.rawValue) (line \(line)): \(detail)" }
        return "\(code.rawValue): \(detail)"
    }
}
