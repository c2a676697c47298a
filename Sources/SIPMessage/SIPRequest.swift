// A SIP request (RFC 3261 §7.1).

import NIOCore

/// A SIP request: Request-Line, headers and body (RFC 3261 §7.1).
public struct SIPRequest: Sendable, Hashable {
    /// The method of the Request-Line (§7.1); the CSeq method should match (§8.1.1.5).
    public var method: SIPMethod
    /// The Request-URI exactly as received or set (§7.1). Parse it with `uri()`.
    public var uriText: String
    /// The header fields in order.
    public var headers: SIPHeaders
    /// The message body (§7.4), `Content-Length` octets of it.
    public var body: ByteBuffer

    /// Makes a request from its parts; the caller keeps Content-Length right (or uses `setBody`).
    public init(method: SIPMethod, uriText: String, headers: SIPHeaders = SIPHeaders(), body: ByteBuffer = ByteBuffer()) {
        self.method = method
        self.uriText = uriText
        self.headers = headers
        self.body = body
    }

    /// Makes a request to a URI.
    public init(method: SIPMethod, uri: SIPAnyURI, headers: SIPHeaders = SIPHeaders(), body: ByteBuffer = ByteBuffer()) {
        self.init(method: method, uriText: uri.description, headers: headers, body: body)
    }

    /// The Request-URI parsed (RFC 3261 §19.1, RFC 3966, or any absoluteURI).
    public func uri() throws(SIPParseError) -> SIPAnyURI {
        try SIPAnyURI(parsing: uriText)
    }

    /// Replaces the body and sets Content-Length (and Content-Type when given), §20.14, §20.15.
    public mutating func setBody(_ body: ByteBuffer, contentType: String? = nil) {
        self.body = body
        headers.replaceOrAdd(.contentLength, String(body.readableBytes))
        if let contentType { headers.replaceOrAdd(.contentType, contentType) }
    }

    /// Writes the request (Request-Line, headers, empty line, body), RFC 3261 §7.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeString(method.description)
        buffer.writeStaticString(" ")
        buffer.writeString(uriText)
        buffer.writeStaticString(" SIP/2.0\r\n")
        headers.write(to: &buffer)
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(body)
    }
}

/// A SIP response: Status-Line, headers and body (RFC 3261 §7.2).
public struct SIPResponse: Sendable, Hashable {
    /// The Status-Code, 100–699 (§7.2, §21).
    public var statusCode: Int
    /// The Reason-Phrase (§7.2), possibly empty, UTF-8.
    public var reasonPhrase: String
    /// The header fields in order.
    public var headers: SIPHeaders
    /// The message body (§7.4).
    public var body: ByteBuffer

    /// Makes a response from its parts.
    public init(statusCode: Int, reasonPhrase: String? = nil, headers: SIPHeaders = SIPHeaders(), body: ByteBuffer = ByteBuffer()) {
        self.statusCode = statusCode
        self.reasonPhrase = reasonPhrase ?? SIPStatus.reasonPhrase(for: statusCode)
        self.headers = headers
        self.body = body
    }

    /// Replaces the body and sets Content-Length (and Content-Type when given), §20.14, §20.15.
    public mutating func setBody(_ body: ByteBuffer, contentType: String? = nil) {
        self.body = body
        headers.replaceOrAdd(.contentLength, String(body.readableBytes))
        if let contentType { headers.replaceOrAdd(.contentType, contentType) }
    }

    /// Writes the response (Status-Line, headers, empty line, body), RFC 3261 §7.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeStaticString("SIP/2.0 ")
        buffer.writeString(String(statusCode))
        buffer.writeStaticString(" ")
        buffer.writeString(reasonPhrase)
        buffer.writeStaticString("\r\n")
        headers.write(to: &buffer)
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(body)
    }
}

/// A SIP message: a request or a response (RFC 3261 §7).
public enum SIPMessage: Sendable, Hashable {
    /// A request.
    case request(SIPRequest)
    /// A response.
    case response(SIPResponse)

    /// The header fields.
    public var headers: SIPHeaders {
        switch self {
        case .request(let r): r.headers
        case .response(let r): r.headers
        }
    }

    /// The body.
    public var body: ByteBuffer {
        switch self {
        case .request(let r): r.body
        case .response(let r): r.body
        }
    }

    /// Writes the message in wire format (RFC 3261 §7).
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .request(let r): r.write(to: &buffer)
        case .response(let r): r.write(to: &buffer)
        }
    }

    /// The message in wire format.
    public var serialized: ByteBuffer {
        var buffer = ByteBuffer()
        write(to: &buffer)
        return buffer
    }
}
