// The one error type of SIPMessage, with stable codes and the answer a server owes (RFC 3261 §21).

/// Why a SIP message or header value could not be parsed.
///
/// `code` is stable (log it, count it, test it). For a request, `status` is what a UAS should
/// answer (400 naming the defect, 505 for the version, 513 for size, RFC 3261 §8.2, §21.4.1,
/// §21.5.9, §21.5.14); nil means drop silently (responses, garbage). When enough of a request
/// was read to build a reply (Via, From, To, Call-ID, CSeq), `replyContext` holds its headers.
public struct SIPParseError: Error, Sendable, CustomStringConvertible {
    /// Stable error codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The message exceeds `SIPParserLimits.maxMessageSize`.
        case messageTooLarge = "message_too_large"
        /// A line exceeds `SIPParserLimits.maxLineLength`.
        case lineTooLong = "line_too_long"
        /// More header rows than `SIPParserLimits.maxHeaderCount`.
        case tooManyHeaders = "too_many_headers"
        /// A datagram ended before the empty line that closes the header section.
        case truncatedHeaders = "truncated_headers"
        /// The start line is neither a Request-Line nor a Status-Line (§7.1, §7.2).
        case malformedStartLine = "malformed_start_line"
        /// The Request-Line breaks `Method SP Request-URI SP SIP-Version` (§25.1).
        case malformedRequestLine = "malformed_request_line"
        /// The SIP version is not 2.0 (§8.2.6.? / §21.5.9: 505).
        case unsupportedVersion = "unsupported_version"
        /// The Status-Line is malformed or its code is not 3 digits in 100–699 (§7.2).
        case malformedStatusLine = "malformed_status_line"
        /// A header row is not `name HCOLON value` (§7.3.1).
        case malformedHeader = "malformed_header"
        /// Content-Length is not a non-negative integer (§20.14).
        case invalidContentLength = "invalid_content_length"
        /// More than one Content-Length value (§20.14; RFC 4475 §3.3.9).
        case multipleContentLength = "multiple_content_length"
        /// A stream message without Content-Length (§18.3).
        case missingContentLength = "missing_content_length"
        /// Content-Length claims more octets than the datagram holds (§18.3; RFC 4475 §3.1.2.2).
        case contentLengthExceedsDatagram = "content_length_exceeds_datagram"
        /// A header value does not follow its grammar (§25.1); `header` names it.
        case invalidHeaderValue = "invalid_header_value"
        /// A URI does not follow RFC 3261 §19.1 / §25.1 or RFC 3966.
        case invalidURI = "invalid_uri"
    }

    /// The stable code.
    public var code: Code
    /// For requests: the status a UAS answers; nil: drop silently.
    public var status: Int?
    /// A reason phrase naming the defect, for the reply (e.g. "Bad Request - Malformed Request-Line").
    public var reasonPhrase: String
    /// The header concerned, when the defect is in one header.
    public var header: SIPHeaderName?
    /// Headers of the failed request when they suffice to build a reply (Via, From, To, Call-ID, CSeq).
    public var replyContext: SIPHeaders?

    /// Makes an error.
    public init(_ code: Code, status: Int? = nil, reasonPhrase: String = "", header: SIPHeaderName? = nil, replyContext: SIPHeaders? = nil) {
        self.code = code
        self.status = status
        self.reasonPhrase = reasonPhrase
        self.header = header
        self.replyContext = replyContext
    }

    /// Code, status and reason.
    public var description: String {
        "SIPParseError(\(code.rawValue)\(status.map { ", \($0)" } ?? "")\(reasonPhrase.isEmpty ? "" : ", \(reasonPhrase)"))"
    }

    static func value(_ header: SIPHeaderName, _ detail: String = "") -> SIPParseError {
        SIPParseError(.invalidHeaderValue, status: 400, reasonPhrase: "Bad \(header) Header\(detail.isEmpty ? "" : " - \(detail)")", header: header)
    }

    static func uri(_ detail: String) -> SIPParseError {
        SIPParseError(.invalidURI, status: 400, reasonPhrase: "Bad URI - \(detail)")
    }
}
