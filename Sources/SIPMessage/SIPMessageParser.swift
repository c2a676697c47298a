// The SIP message framer and start-line/header splitter (RFC 3261 §7, §7.3.1, §7.5, §18.3, §25).
// Written by hand over raw bytes: no Swift SIP parser exists, and the hot path must not build a
// String per header. Header values are typed lazily (see SIPHeaders+Typed.swift).

import NIOCore

/// Size limits of the parser; each breach is its own `SIPParseError.Code`.
public struct SIPParserLimits: Sendable, Hashable {
    /// Largest message (headers and body) in octets. Default 64 KiB (a UDP datagram's limit).
    public var maxMessageSize: Int
    /// Largest number of header rows. Default 256.
    public var maxHeaderCount: Int
    /// Longest physical line (start line or header row part) in octets. Default 8 KiB.
    public var maxLineLength: Int

    /// Makes limits.
    public init(maxMessageSize: Int = 65_536, maxHeaderCount: Int = 256, maxLineLength: Int = 8_192) {
        self.maxMessageSize = maxMessageSize
        self.maxHeaderCount = maxHeaderCount
        self.maxLineLength = maxLineLength
    }
}

/// Parses SIP messages from stream bytes (framed by Content-Length, RFC 3261 §18.3) or whole datagrams.
///
/// Pure: no I/O; the caller feeds bytes and gets messages. After a thrown error a stream is out of
/// sync and the connection should be closed (after sending `status` when `replyContext` allows).
public struct SIPMessageParser: Sendable {
    /// The limits in force.
    public var limits: SIPParserLimits
    /// Bytes of the current stream message already searched for the end of the header section.
    private var searched = 0
    /// Total size of the current stream message once its header section was read (waiting for the body).
    private var pendingTotal: Int?

    /// Makes a parser.
    public init(limits: SIPParserLimits = SIPParserLimits()) {
        self.limits = limits
    }

    /// Parses the next message from a stream buffer (TCP), consuming its bytes.
    ///
    /// Returns nil when more bytes are needed. Leading CRLFs (keep-alives, §7.5, RFC 5626 §3.5.1)
    /// are consumed and ignored. Content-Length is mandatory on streams (§18.3).
    public mutating func parse(_ buffer: inout ByteBuffer) throws(SIPParseError) -> SIPMessage? {
        // Skip keep-alive CRLFs before a start line (§7.5).
        while let c = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), c == 0x0D || c == 0x0A {
            buffer.moveReaderIndex(forwardBy: 1)
            searched = 0
        }
        guard buffer.readableBytes > 0 else { return nil }
        // Waiting for a body: do not rescan the header section for every chunk.
        if let pendingTotal, buffer.readableBytes < pendingTotal { return nil }
        let limits = self.limits
        let start = max(0, searched - 3)
        let headerEnd: Int? = buffer.withUnsafeReadableBytes { raw in
            var i = start
            while i < raw.count {
                if raw[i] == 0x0A {
                    // LF followed by (CR) LF ends the header section.
                    if i + 1 < raw.count, raw[i + 1] == 0x0A { return i + 2 }
                    if i + 2 < raw.count, raw[i + 1] == 0x0D, raw[i + 2] == 0x0A { return i + 3 }
                }
                i += 1
            }
            return nil
        }
        guard let headerEnd else {
            searched = buffer.readableBytes
            if buffer.readableBytes > limits.maxMessageSize {
                throw SIPParseError(.messageTooLarge, reasonPhrase: "Message Too Large")
            }
            // Check the current line is not growing without bounds.
            let lastLF = buffer.withUnsafeReadableBytes { raw in raw.lastIndex(of: 0x0A) } ?? -1
            if buffer.readableBytes - lastLF - 1 > limits.maxLineLength {
                throw SIPParseError(.lineTooLong, reasonPhrase: "Line Too Long")
            }
            return nil
        }
        let head = try buffer.withUnsafeReadableBytes { raw throws(SIPParseError) in
            try Self.parseHead(UnsafeRawBufferPointer(rebasing: raw[0..<headerEnd]), limits: limits, endAtEOF: true)?.0
        }
        guard let head else { preconditionFailure("the header section end was found above") }
        guard let contentLength = head.contentLength else {
            throw head.error(SIPParseError(.missingContentLength, status: 400, reasonPhrase: "Bad Request - Missing Content-Length"), buffer: buffer.getSlice(at: buffer.readerIndex, length: headerEnd))
        }
        guard headerEnd + contentLength <= limits.maxMessageSize else {
            throw head.error(SIPParseError(.messageTooLarge, status: 513, reasonPhrase: "Message Too Large"), buffer: buffer.getSlice(at: buffer.readerIndex, length: headerEnd))
        }
        guard buffer.readableBytes >= headerEnd + contentLength else {
            pendingTotal = headerEnd + contentLength
            return nil
        }
        let message = head.message(buffer: buffer, headerEnd: headerEnd, bodyLength: contentLength)
        buffer.moveReaderIndex(forwardBy: headerEnd + contentLength)
        searched = 0
        pendingTotal = nil
        return message
    }

    /// Parses one whole UDP datagram (RFC 3261 §18.3): without Content-Length the body runs to
    /// the end; octets after Content-Length are ignored (RFC 4475 §3.1.1.8).
    public func parseDatagram(_ datagram: ByteBuffer) throws(SIPParseError) -> SIPMessage {
        var datagram = datagram
        while let c = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self), c == 0x0D || c == 0x0A {
            datagram.moveReaderIndex(forwardBy: 1)
        }
        let limits = self.limits
        guard datagram.readableBytes <= limits.maxMessageSize else {
            throw SIPParseError(.messageTooLarge, reasonPhrase: "Message Too Large")
        }
        let (head, headerEnd) = try datagram.withUnsafeReadableBytes { raw throws(SIPParseError) in
            // The datagram's end frames the message: a header section whose last line ends with
            // CRLF but lacks the empty line is taken whole (RFC 4475 §3.1.2.15 ends so).
            guard let found = try Self.parseHead(raw, limits: limits, endAtEOF: true) else {
                throw SIPParseError(.truncatedHeaders, reasonPhrase: "Truncated Header Section")
            }
            return found
        }
        let available = datagram.readableBytes - headerEnd
        let bodyLength: Int
        if let contentLength = head.contentLength {
            guard contentLength <= available else {
                throw head.error(SIPParseError(.contentLengthExceedsDatagram, status: 400, reasonPhrase: "Bad Request - Content-Length Exceeds Message", header: .contentLength), buffer: datagram.getSlice(at: datagram.readerIndex, length: headerEnd))
            }
            bodyLength = contentLength
        } else {
            bodyLength = available
        }
        return head.message(buffer: datagram, headerEnd: headerEnd, bodyLength: bodyLength)
    }

    /// Convenience: parses a datagram given as bytes.
    public func parseDatagram(_ bytes: some Sequence<UInt8>) throws(SIPParseError) -> SIPMessage {
        try parseDatagram(ByteBuffer(bytes: bytes))
    }

    // MARK: - Start line and header rows

    /// What the header section said, before a message is built from the buffer.
    struct Head {
        enum Start {
            case request(SIPMethod, uriStart: Int, uriEnd: Int)
            case response(Int, reasonStart: Int, reasonEnd: Int)
        }
        var start: Start?
        var startError: SIPParseError?
        var isResponse: Bool
        var headerStart: Int
        var entries: [SIPHeaders.Entry]
        var contentLength: Int?
        var deferredError: SIPParseError?
        var uriText: String = ""
        var reason: String = ""

        /// Attaches the reply context (or drops the status for responses).
        func error(_ e: SIPParseError, buffer: ByteBuffer? = nil) -> SIPParseError {
            var e = e
            if isResponse {
                e.status = nil
                return e
            }
            if let buffer {
                let headers = SIPHeaders(storage: buffer, entries: entries)
                if [SIPHeaderName.via, .from, .to, .callID, .cseq].allSatisfy(headers.contains) { e.replyContext = headers }
            }
            return e
        }

        func message(buffer: ByteBuffer, headerEnd: Int, bodyLength: Int) -> SIPMessage {
            let storage = buffer.getSlice(at: buffer.readerIndex, length: headerEnd) ?? ByteBuffer()
            let body = buffer.getSlice(at: buffer.readerIndex + headerEnd, length: bodyLength) ?? ByteBuffer()
            let headers = SIPHeaders(storage: storage, entries: entries)
            switch start {
            case .request(let method, _, _)?:
                return .request(SIPRequest(method: method, uriText: uriText, headers: headers, body: body))
            case .response(let code, _, _)?:
                return .response(SIPResponse(statusCode: code, reasonPhrase: reason, headers: headers, body: body))
            case nil:
                preconditionFailure("parseHead throws when the start line failed")
            }
        }
    }

    /// Index of the next LF at or after `start`, or `raw.count`; eight bytes at a time (SWAR).
    @inline(__always)
    static func findLF(_ raw: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        #if _endian(little)
        let lf: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
        let low: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= raw.count {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ lf
            let found = (word &- low) & ~word & high
            if found != 0 { return i + (UInt64(littleEndian: found).trailingZeroBitCount >> 3) }
            i += 8
        }
        #endif
        while i < raw.count, raw[i] != 0x0A { i += 1 }
        return i
    }

    /// `token` characters (§25.1: alphanum and `-.!%*_+`'~`), one bit per ASCII byte in two words
    /// (a shift and a mask instead of a chain of ranges; every byte checked by a test).
    @inline(__always)
    static func isTokenChar(_ c: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CA2_0000_0000, high: UInt64 = 0x47FF_FFFF_87FF_FFFE
        return c < 64 ? (low >> UInt64(c)) & 1 == 1 : c < 128 && (high >> UInt64(c - 64)) & 1 == 1
    }

    /// `start..<end` without leading and trailing LWS: SP, HT and the CR/LF of folded lines (§7.3.1).
    @inline(__always)
    static func trimLWS(_ raw: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (Int, Int) {
        var s = start, e = end
        while s < e, ByteScanner.isWhitespace(raw[s]) { s += 1 }
        while e > s, ByteScanner.isWhitespace(raw[e - 1]) { e -= 1 }
        return (s, e)
    }

    /// Splits the header section `raw` (start line through the empty line) into rows.
    /// Indices in entries are relative to `raw` (0 = the start line), which is also the storage slice.
    /// Returns nil when the empty line is missing (unless `endAtEOF` and the data ends with LF),
    /// else the head and the offset just past the header section.
    static func parseHead(_ raw: UnsafeRawBufferPointer, limits: SIPParserLimits, endAtEOF: Bool) throws(SIPParseError) -> (Head, Int)? {
        // Start line.
        let lineEnd = findLF(raw, from: 0)
        guard lineEnd <= limits.maxLineLength else { throw SIPParseError(.lineTooLong, reasonPhrase: "Line Too Long") }
        var startEnd = lineEnd
        if startEnd > 0, raw[startEnd - 1] == 0x0D { startEnd -= 1 }
        let startLine = UnsafeRawBufferPointer(rebasing: raw[0..<startEnd])
        let isResponse = startLine.count >= 4 && (startLine[0] | 0x20) == UInt8(ascii: "s") && (startLine[1] | 0x20) == UInt8(ascii: "i") && (startLine[2] | 0x20) == UInt8(ascii: "p") && startLine[3] == UInt8(ascii: "/")
        var head = Head(start: nil, startError: nil, isResponse: isResponse, headerStart: lineEnd + 1, entries: [])
        do throws(SIPParseError) {
            head.start = try isResponse ? parseStatusLine(startLine) : parseRequestLine(startLine)
        } catch {
            head.startError = error
        }
        switch head.start {
        case .request(_, let s, let e)?: head.uriText = String(decoding: UnsafeRawBufferPointer(rebasing: raw[s..<e]), as: UTF8.self)
        case .response(_, let s, let e)?: head.reason = String(decoding: UnsafeRawBufferPointer(rebasing: raw[s..<e]), as: UTF8.self)
        case nil: break
        }

        // Header rows, with folding (§7.3.1): a line starting with SP/HT continues the previous row.
        var entries: [SIPHeaders.Entry] = []
        entries.reserveCapacity(16)
        var rowError: SIPParseError?
        var i = lineEnd + 1
        var sectionEnd: Int?
        while i < raw.count {
            let end = findLF(raw, from: i)
            guard end - i <= limits.maxLineLength else { throw SIPParseError(.lineTooLong, reasonPhrase: "Line Too Long") }
            var contentEnd = end
            if contentEnd > i, raw[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            if contentEnd == i, end < raw.count {  // the empty line
                sectionEnd = end + 1
                break
            }
            if end == raw.count { break }  // a partial last line
            let first = raw[i]
            if first == 0x20 || first == 0x09 {
                if entries.isEmpty {
                    rowError = rowError ?? SIPParseError(.malformedHeader, status: 400, reasonPhrase: "Bad Request - Continuation Line Without Header")
                } else {
                    // A fold: the value runs on; trim again over the joined lines.
                    let k = entries.count - 1
                    entries[k].lineEnd = contentEnd
                    (entries[k].valueStart, entries[k].valueEnd) = trimLWS(raw, entries[k].valueStart, contentEnd)
                }
            } else {
                guard entries.count < limits.maxHeaderCount else {
                    throw SIPParseError(.tooManyHeaders, reasonPhrase: "Too Many Headers")
                }
                var n = i
                while n < contentEnd, isTokenChar(raw[n]) { n += 1 }
                var colon = n
                while colon < contentEnd, raw[colon] == 0x20 || raw[colon] == 0x09 { colon += 1 }
                if n == i || colon >= contentEnd || raw[colon] != UInt8(ascii: ":") {
                    rowError = rowError ?? SIPParseError(.malformedHeader, status: 400, reasonPhrase: "Bad Request - Malformed Header Line")
                } else {
                    let known = SIPHeaderName.Known.lookup(UnsafeRawBufferPointer(rebasing: raw[i..<n]))
                    let (s, e) = trimLWS(raw, colon + 1, contentEnd)
                    entries.append(SIPHeaders.Entry(known: known, lineStart: i, nameEnd: n, valueStart: s, valueEnd: e, lineEnd: contentEnd))
                }
            }
            i = end + 1
        }
        head.entries = entries
        if sectionEnd == nil {
            guard endAtEOF, lineEnd < raw.count, raw.last == 0x0A else {
                if endAtEOF { throw head.error(SIPParseError(.truncatedHeaders, status: 400, reasonPhrase: "Bad Request - Truncated Header Section"), buffer: ByteBuffer(bytes: raw)) }
                return nil
            }
            sectionEnd = raw.count
        }
        guard let sectionEnd else { return nil }

        var buffer: ByteBuffer { ByteBuffer(bytes: raw) }  // built only on the error paths
        if let startError = head.startError { throw head.error(startError, buffer: buffer) }
        if let rowError { throw head.error(rowError, buffer: buffer) }

        // Content-Length (§20.14): one value, digits only.
        var contentLength: Int?
        for e in entries where e.known == .contentLength {
            guard contentLength == nil else {
                throw head.error(SIPParseError(.multipleContentLength, status: 400, reasonPhrase: "Bad Request - Multiple Content-Length", header: .contentLength), buffer: buffer)
            }
            var value = 0
            guard e.valueEnd > e.valueStart else {
                throw head.error(SIPParseError(.invalidContentLength, status: 400, reasonPhrase: "Bad Request - Invalid Content-Length", header: .contentLength), buffer: buffer)
            }
            for p in e.valueStart..<e.valueEnd {
                let c = raw[p]
                guard c >= 0x30, c <= 0x39, value < 100_000_000 else {
                    let multiple = c == UInt8(ascii: ",")
                    throw head.error(SIPParseError(multiple ? .multipleContentLength : .invalidContentLength, status: 400, reasonPhrase: multiple ? "Bad Request - Multiple Content-Length" : "Bad Request - Invalid Content-Length", header: .contentLength), buffer: buffer)
                }
                value = value * 10 + Int(c - 0x30)
            }
            contentLength = value
        }
        head.contentLength = contentLength
        return (head, sectionEnd)
    }

    /// `Request-Line = Method SP Request-URI SP SIP-Version CRLF` (§25.1): exactly two single spaces.
    static func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(SIPParseError) -> Head.Start {
        let malformed = SIPParseError(.malformedRequestLine, status: 400, reasonPhrase: "Bad Request - Malformed Request-Line")
        guard let sp1 = line.firstIndex(of: 0x20) else { throw malformed }
        let rest = line[(sp1 + 1)...]
        guard let sp2 = rest.firstIndex(of: 0x20) else { throw malformed }
        guard sp1 > 0, sp2 > sp1 + 1, !line[(sp2 + 1)...].contains(0x20) else { throw malformed }
        for c in line[0..<sp1] where !isTokenChar(c) { throw malformed }
        for c in line[(sp1 + 1)..<sp2] where c <= 0x20 || c == 0x7F { throw malformed }
        let version = UnsafeRawBufferPointer(rebasing: line[(sp2 + 1)...])
        guard isVersion(version) else {
            throw SIPParseError(.malformedRequestLine, status: 400, reasonPhrase: "Bad Request - Malformed SIP-Version")
        }
        guard isVersion20(version) else {
            throw SIPParseError(.unsupportedVersion, status: 505, reasonPhrase: "Version Not Supported")
        }
        return .request(SIPMethod(bytes: UnsafeRawBufferPointer(rebasing: line[0..<sp1])), uriStart: sp1 + 1, uriEnd: sp2)
    }

    /// `Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF` (§25.1); code 100–699.
    static func parseStatusLine(_ line: UnsafeRawBufferPointer) throws(SIPParseError) -> Head.Start {
        let malformed = SIPParseError(.malformedStatusLine, reasonPhrase: "Malformed Status-Line")
        guard let sp1 = line.firstIndex(of: 0x20) else { throw malformed }
        let version = UnsafeRawBufferPointer(rebasing: line[0..<sp1])
        guard isVersion(version) else { throw malformed }
        guard isVersion20(version) else { throw SIPParseError(.unsupportedVersion, reasonPhrase: "Version Not Supported") }
        var end = sp1 + 1
        while end < line.count, line[end] != 0x20 { end += 1 }
        guard end - sp1 - 1 == 3 else { throw malformed }
        var code = 0
        for p in (sp1 + 1)..<end {
            guard line[p] >= 0x30, line[p] <= 0x39 else { throw malformed }
            code = code * 10 + Int(line[p] - 0x30)
        }
        guard (100...699).contains(code) else { throw malformed }
        let reasonStart = min(end + 1, line.count)
        for p in reasonStart..<line.count where line[p] < 0x20 && line[p] != 0x09 { throw malformed }
        return .response(code, reasonStart: reasonStart, reasonEnd: line.count)
    }

    /// `"SIP" "/" 1*DIGIT "." 1*DIGIT`, "SIP" in any case (§7.1).
    static func isVersion(_ v: UnsafeRawBufferPointer) -> Bool {
        guard v.count >= 7, (v[0] | 0x20) == UInt8(ascii: "s"), (v[1] | 0x20) == UInt8(ascii: "i"), (v[2] | 0x20) == UInt8(ascii: "p"), v[3] == UInt8(ascii: "/") else { return false }
        var dot = false
        var digits = 0
        for c in v[4...] {
            if c == UInt8(ascii: ".") {
                guard !dot, digits > 0 else { return false }
                dot = true
                digits = 0
            } else if c >= 0x30, c <= 0x39 {
                digits += 1
            } else {
                return false
            }
        }
        return dot && digits > 0
    }

    static func isVersion20(_ v: UnsafeRawBufferPointer) -> Bool {
        v.count == 7 && v[4] == UInt8(ascii: "2") && v[5] == UInt8(ascii: ".") && v[6] == UInt8(ascii: "0")
    }
}
