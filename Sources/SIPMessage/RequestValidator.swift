// The UAS request checks of RFC 3261 §8.2.1–§8.2.3 as a pure function of a request and the
// server's capabilities. Also the syntax checks a UAS must make before processing (400s).

import ABNF

/// What a server supports, as RFC 3261 §8.2 asks a UAS to check.
public struct SIPServerCapabilities: Sendable, Hashable {
    /// Methods the server accepts (others: 405 if known, 501 if not, §8.2.1). Goes into Allow.
    public var allowedMethods: [SIPMethod]
    /// Option tags understood in Require (§8.2.2.3). Goes into Supported.
    public var supportedExtensions: Set<String>
    /// Body types understood (§8.2.3). Goes into Accept on 415.
    public var acceptedBodyTypes: [SIPMediaType]
    /// Request-URI schemes served, lower case (§8.2.2.1: else 416).
    public var supportedSchemes: Set<String>
    /// Body types the server would answer with per method, for the Accept check (406, §21.4.7).
    public var responseBodyTypes: [SIPMethod: [SIPMediaType]]
    /// Content-Encodings understood besides identity (§8.2.3: else 415 with Accept-Encoding).
    public var acceptedEncodings: Set<String>

    /// Makes capabilities; the defaults fit a user agent that takes calls with SDP.
    public init(
        allowedMethods: [SIPMethod] = [.invite, .ack, .bye, .cancel, .options, .info],
        supportedExtensions: Set<String> = [],
        acceptedBodyTypes: [SIPMediaType] = [.sdp],
        supportedSchemes: Set<String> = ["sip", "sips", "tel"],
        responseBodyTypes: [SIPMethod: [SIPMediaType]] = [.invite: [.sdp]],
        acceptedEncodings: Set<String> = []
    ) {
        self.allowedMethods = allowedMethods
        self.supportedExtensions = supportedExtensions
        self.acceptedBodyTypes = acceptedBodyTypes
        self.supportedSchemes = supportedSchemes
        self.responseBodyTypes = responseBodyTypes
        self.acceptedEncodings = acceptedEncodings
    }
}

/// Why a request is refused, and the reply it calls for.
public struct RequestRejection: Sendable, Hashable, Error {
    /// Stable codes.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A mandatory header (Via, From, To, Call-ID, CSeq) is missing (§8.1.1).
        case missingHeader = "missing_header"
        /// A single-valued header occurs more than once (§7.3.1, RFC 4475 §3.3.8).
        case multipleValues = "multiple_values"
        /// A header value breaks its grammar (§25.1).
        case invalidHeader = "invalid_header"
        /// The Request-URI breaks its grammar or carries headers (§19.1.5).
        case invalidRequestURI = "invalid_request_uri"
        /// CSeq method differs from the Request-Line method (§8.1.1.5, RFC 4475 §3.1.2.17).
        case cseqMethodMismatch = "cseq_method_mismatch"
        /// Known method not allowed here (405, §8.2.1).
        case methodNotAllowed = "method_not_allowed"
        /// Unknown method (501, §8.2.1).
        case methodNotImplemented = "method_not_implemented"
        /// Request-URI scheme not served (416, §8.2.2.1).
        case unsupportedURIScheme = "unsupported_uri_scheme"
        /// Require lists unknown option tags (420, §8.2.2.3).
        case badExtension = "bad_extension"
        /// Body type or encoding not understood (415, §8.2.3).
        case unsupportedMediaType = "unsupported_media_type"
        /// The Accept header admits nothing the server would answer with (406, §21.4.7).
        case notAcceptable = "not_acceptable"
    }

    /// The stable code.
    public var code: Code
    /// The status to answer.
    public var statusCode: Int
    /// The reason phrase, naming the defect for 400s.
    public var reasonPhrase: String
    /// Extra headers the reply must carry (Allow for 405, Unsupported for 420, Accept for 415, …).
    public var headers: [(SIPHeaderName, String)]

    /// Makes a rejection.
    public init(_ code: Code, _ statusCode: Int, _ reasonPhrase: String, headers: [(SIPHeaderName, String)] = []) {
        self.code = code
        self.statusCode = statusCode
        self.reasonPhrase = reasonPhrase
        self.headers = headers
    }

    /// Equal when code, status, reason and headers are equal.
    public static func == (a: RequestRejection, b: RequestRejection) -> Bool {
        a.code == b.code && a.statusCode == b.statusCode && a.reasonPhrase == b.reasonPhrase
            && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
    }

    /// Hashes code, status and reason.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(statusCode)
        hasher.combine(reasonPhrase)
    }
}

/// The UAS checks of RFC 3261 §8.2.1–§8.2.3, in the RFC's order after the syntax checks:
/// 400 (syntax, mandatory and single headers, CSeq method), 405/501 (method), 416 (scheme),
/// 420 (Require), 415 (body type/encoding), 406 (Accept). Pure; the UAS core calls it.
///
/// Not here: merged-request detection (482, §8.2.2.2) and Max-Forwards, which at a UAS is not
/// checked (RFC 4475 §3.3.11: Max-Forwards 0 to a UAS is answered normally).
public struct RequestValidator: Sendable {
    /// The server's capabilities.
    public var capabilities: SIPServerCapabilities

    /// Makes a validator.
    public init(capabilities: SIPServerCapabilities = SIPServerCapabilities()) {
        self.capabilities = capabilities
    }

    /// Checks a request; nil means process it, else answer with the rejection.
    public func validate(_ request: SIPRequest) -> RequestRejection? {
        do throws(RequestRejection) {
            try checkSyntax(request)
            try checkMethod(request)
            try checkURIScheme(request)
            try checkRequire(request)
            try checkBody(request)
            try checkAccept(request)
            return nil
        } catch {
            return error
        }
    }

    private static func bad(_ code: RequestRejection.Code, _ detail: String) -> RequestRejection {
        RequestRejection(code, 400, "Bad Request - \(detail)")
    }

    private static func invalid(_ error: SIPParseError) -> RequestRejection {
        let phrase = error.reasonPhrase.hasPrefix("Bad ") ? error.reasonPhrase : "Bad Header - \(error.reasonPhrase)"
        return RequestRejection(.invalidHeader, 400, phrase)
    }

    /// Syntax checks a UAS makes before processing (§8.1.1 mandatory headers, §7.3.1 single
    /// values, §25.1 grammar of the headers it reads, §8.1.1.5 CSeq method, §19.1.5 R-URI headers).
    func checkSyntax(_ request: SIPRequest) throws(RequestRejection) {
        let h = request.headers
        for name in [SIPHeaderName.via, .from, .to, .callID, .cseq] where !h.contains(name) {
            throw Self.bad(.missingHeader, "Missing \(name) Header")
        }
        for name in [SIPHeaderName.from, .to, .callID, .cseq, .maxForwards, .contentLength, .contentType, .expires] where h.count(of: name) > 1 {
            throw Self.bad(.multipleValues, "Multiple \(name) Headers")
        }
        let uri: SIPAnyURI
        do {
            uri = try request.uri()
        } catch {
            throw Self.bad(.invalidRequestURI, "Malformed Request-URI")
        }
        if case .sip(let sip) = uri, !sip.headers.isEmpty {
            throw Self.bad(.invalidRequestURI, "Headers In Request-URI")
        }
        let cseq: SIPCSeq
        do throws(SIPParseError) {
            _ = try h.via()
            _ = try h.from()
            _ = try h.to()
            _ = try h.callID()
            cseq = try h.cseq()
            _ = try h.maxForwards()
            _ = try h.contentLength()
            _ = try h.contentType()
            _ = try h.contact()
            _ = try h.route()
            _ = try h.recordRoute()
            _ = try h.require()
            _ = try h.proxyRequire()
            _ = try h.accept()
            _ = try h.expires()
            if case .addresses(let contacts)? = try h.contact() {
                for c in contacts {
                    if let e = c.parameters["expires"], UInt32(e) == nil { throw SIPParseError.value(.contact, "Bad expires") }
                }
            }
        } catch {
            throw Self.invalid(error)
        }
        guard cseq.method == request.method else { throw Self.bad(.cseqMethodMismatch, "CSeq Method Does Not Match Request Method") }
        if h.dateIsValid() == false { throw Self.bad(.invalidHeader, "Bad Date Header") }
    }

    /// §8.2.1: 405 with Allow for known methods not allowed, 501 for unknown ones.
    func checkMethod(_ request: SIPRequest) throws(RequestRejection) {
        guard !capabilities.allowedMethods.contains(request.method) else { return }
        let allow = capabilities.allowedMethods.map(\.description).joined(separator: ", ")
        if request.method.isKnown {
            throw RequestRejection(.methodNotAllowed, 405, "Method Not Allowed", headers: [(.allow, allow)])
        }
        throw RequestRejection(.methodNotImplemented, 501, "Not Implemented", headers: [(.allow, allow)])
    }

    /// §8.2.2.1: 416 for a Request-URI scheme not served.
    func checkURIScheme(_ request: SIPRequest) throws(RequestRejection) {
        guard let uri = try? request.uri(), !capabilities.supportedSchemes.contains(uri.scheme) else { return }
        throw RequestRejection(.unsupportedURIScheme, 416, "Unsupported URI Scheme")
    }

    /// §8.2.2.3: 420 listing unknown Require tags in Unsupported (not for ACK and CANCEL).
    func checkRequire(_ request: SIPRequest) throws(RequestRejection) {
        guard request.method != .ack, request.method != .cancel else { return }
        let required = (try? request.headers.require()) ?? []
        let unknown = required.filter { !capabilities.supportedExtensions.contains($0) }
        guard !unknown.isEmpty else { return }
        throw RequestRejection(.badExtension, 420, "Bad Extension", headers: [(.unsupported, unknown.joined(separator: ", "))])
    }

    /// §8.2.3: 415 with Accept (or Accept-Encoding) for a body the server cannot read.
    func checkBody(_ request: SIPRequest) throws(RequestRejection) {
        let h = request.headers
        if let encodings = h[.contentEncoding] {
            let unknown = encodings.split(separator: ",").map { $0.trimmingWSP.lowercased() }.filter { $0 != "identity" && !capabilities.acceptedEncodings.contains($0) }
            if !unknown.isEmpty {
                throw RequestRejection(.unsupportedMediaType, 415, "Unsupported Media Type", headers: [(.acceptEncoding, (["identity"] + capabilities.acceptedEncodings.sorted()).joined(separator: ", "))])
            }
        }
        guard request.body.readableBytes > 0 || h.contains(.contentType) else { return }
        guard request.body.readableBytes > 0 else { return }
        let type = (try? h.contentType()) ?? nil
        // §7.4.1: a body without Content-Type is taken as application/sdp by many UAs; RFC says MUST carry it.
        let essence = type?.essence ?? "application/sdp"
        guard !capabilities.acceptedBodyTypes.contains(where: { $0.essence == essence }) else { return }
        let accept = capabilities.acceptedBodyTypes.map(\.essence).joined(separator: ", ")
        throw RequestRejection(.unsupportedMediaType, 415, "Unsupported Media Type", headers: [(.accept, accept)])
    }

    /// §21.4.7: 406 when Accept admits none of the body types the server would answer with.
    func checkAccept(_ request: SIPRequest) throws(RequestRejection) {
        guard let produced = capabilities.responseBodyTypes[request.method], !produced.isEmpty,
              let ranges = (try? request.headers.accept()) ?? nil else { return }
        let acceptable = produced.contains { type in ranges.contains { $0.accepts(type) } }
        guard !acceptable else { return }
        throw RequestRejection(.notAcceptable, 406, "Not Acceptable", headers: [(.accept, produced.map(\.essence).joined(separator: ", "))])
    }
}

/// The checks a UAC's transport and core make on a received response before matching it
/// (RFC 3261 §18.1.2, §8.1.3.3): failures are dropped silently.
public struct ResponseValidator: Sendable {
    /// Why a response is dropped.
    public enum Drop: String, Sendable, Hashable, CaseIterable {
        /// More than one Via value at a UAC (§8.1.3.3).
        case multipleVia = "multiple_via"
        /// Via, From, To, Call-ID or CSeq is missing or malformed (§8.1.3, §25.1).
        case malformedHeader = "malformed_header"
    }

    /// True when acting as a UAC (not a proxy): responses must carry exactly one Via.
    public var isUserAgentClient: Bool

    /// Makes a validator.
    public init(isUserAgentClient: Bool = true) {
        self.isUserAgentClient = isUserAgentClient
    }

    /// nil when the response may be matched to a transaction; else why to drop it.
    public func validate(_ response: SIPResponse) -> Drop? {
        let h = response.headers
        do {
            let vias = try h.via()
            guard !vias.isEmpty else { return .malformedHeader }
            if isUserAgentClient, vias.count > 1 { return .multipleVia }
            _ = try h.from()
            _ = try h.to()
            _ = try h.callID()
            _ = try h.cseq()
        } catch {
            return .malformedHeader
        }
        return nil
    }
}
