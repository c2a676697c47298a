import NIOCore
import SIPMessage
import Testing

@Suite("builders and the request validator")
struct BuilderTests {
    func invite() throws -> SIPRequest {
        guard case .request(let r) = try SIPMessageParser().parseDatagram(Array(typicalInvite.utf8)) else { throw SIPParseError(.malformedStartLine) }
        return r
    }

    @Test("a response copies Via, From, To, Call-ID, CSeq and adds the To tag (RFC 3261 §8.2.6.2)")
    func reply() throws {
        let r = try invite()
        var ringing = SIPResponse(replyingTo: r, statusCode: 180, toTag: "as8d7f")
        #expect(ringing.reasonPhrase == "Ringing")
        #expect(try ringing.headers.topVia() == r.headers.topVia())
        #expect(try ringing.headers.from() == r.headers.from())
        #expect(try ringing.headers.to().tag == "as8d7f")
        #expect(try ringing.headers.to().uri == r.headers.to().uri)
        #expect(try ringing.headers.callID() == r.headers.callID())
        #expect(try ringing.headers.cseq() == r.headers.cseq())
        #expect(try ringing.headers.contentLength() == 0)
        ringing.headers.add(.contact, "<sip:verigate@192.0.2.9>")
        let wire = SIPMessage.response(ringing).serialized
        guard case .response(let back) = try SIPMessageParser().parseDatagram(wire) else { Issue.record(); return }
        #expect(back == ringing)
        // 100 Trying gets no tag.
        #expect(try SIPResponse(replyingTo: r, statusCode: 100, toTag: "x").headers.to().tag == nil)
    }

    @Test("a built request parses back to the same values")
    func request() throws {
        let via = SIPVia(transport: "UDP", host: "192.0.2.9", port: 5060, branch: "z9hG4bKabc", parameters: [.init(name: "rport")])
        var r = SIPRequest(
            method: .invite,
            uri: .sip(SIPURI(user: "+15551234567", host: "trunk.example.com", parameters: [.init(name: "user", value: "phone")])),
            via: via,
            from: SIPNameAddress(displayName: "Verigate", uri: .sip(SIPURI(user: "verify", host: "192.0.2.9")), parameters: [.init(name: "tag", value: "f1")]),
            to: SIPNameAddress(uri: .tel(TelURI(number: "+15551234567"))),
            callID: "c1@192.0.2.9",
            cseq: 1,
            contact: SIPNameAddress(uri: .sip(SIPURI(user: "verify", host: "192.0.2.9", port: 5060)))
        )
        r.setBody(ByteBuffer(string: "v=0\r\n"), contentType: "application/sdp")
        let wire = SIPMessage.request(r).serialized
        guard case .request(let back) = try SIPMessageParser().parseDatagram(wire) else { Issue.record(); return }
        #expect(back.uriText == "sip:+15551234567@trunk.example.com;user=phone")
        #expect(try back.headers.topVia() == via)
        #expect(try back.headers.from().displayName == "Verigate")
        #expect(try back.headers.cseq() == SIPCSeq(1, .invite))
        #expect(try back.headers.contentLength() == 5)
        #expect(String(buffer: back.body) == "v=0\r\n")
        #expect(RequestValidator().validate(back) == nil)
    }

    struct ValidationCase: Sendable, CustomTestStringConvertible {
        let name: String
        let edit: @Sendable (inout SIPRequest) -> Void
        let status: Int?
        let code: RequestRejection.Code?
        var testDescription: String { name }
    }

    static let cases: [ValidationCase] = [
        ValidationCase(name: "valid", edit: { _ in }, status: nil, code: nil),
        ValidationCase(name: "missing Call-ID", edit: { $0.headers.remove(.callID) }, status: 400, code: .missingHeader),
        ValidationCase(name: "two To", edit: { $0.headers.add(.to, "<sip:x@y>") }, status: 400, code: .multipleValues),
        ValidationCase(name: "two Content-Length", edit: { $0.headers.add(.contentLength, "149") }, status: 400, code: .multipleValues),
        ValidationCase(name: "CSeq mismatch", edit: { $0.method = .options }, status: 400, code: .cseqMethodMismatch),
        ValidationCase(name: "REGISTER not allowed", edit: { $0.method = .register; $0.headers.replaceOrAdd(.cseq, "1 REGISTER") }, status: 405, code: .methodNotAllowed),
        ValidationCase(name: "unknown method", edit: { $0.method = .extension("FOO"); $0.headers.replaceOrAdd(.cseq, "1 FOO") }, status: 501, code: .methodNotImplemented),
        ValidationCase(name: "mailto scheme", edit: { $0.uriText = "mailto:a@b" }, status: 416, code: .unsupportedURIScheme),
        ValidationCase(name: "Require 100rel", edit: { $0.headers.add(.require, "100rel") }, status: 420, code: .badExtension),
        ValidationCase(name: "text body", edit: { $0.headers.replaceOrAdd(.contentType, "text/plain") }, status: 415, code: .unsupportedMediaType),
        ValidationCase(name: "gzip body", edit: { $0.headers.add(.contentEncoding, "gzip") }, status: 415, code: .unsupportedMediaType),
        ValidationCase(name: "Accept text/html", edit: { $0.headers.add(.accept, "text/html") }, status: 406, code: .notAcceptable),
        ValidationCase(name: "Accept */*", edit: { $0.headers.add(.accept, "*/*") }, status: nil, code: nil),
        ValidationCase(name: "Accept application/sdp;q=0", edit: { $0.headers.add(.accept, "application/sdp;q=0") }, status: 406, code: .notAcceptable),
        ValidationCase(name: "Max-Forwards 256", edit: { $0.headers.replaceOrAdd(.maxForwards, "256") }, status: 400, code: .invalidHeader),
        ValidationCase(name: "Max-Forwards 0 at a UAS is fine", edit: { $0.headers.replaceOrAdd(.maxForwards, "0") }, status: nil, code: nil),
        ValidationCase(name: "bad Via", edit: { $0.headers.replaceOrAdd(.via, "SIP/2.0/UDP") }, status: 400, code: .invalidHeader),
        ValidationCase(name: "R-URI with headers", edit: { $0.uriText = "sip:a@b?x=y" }, status: 400, code: .invalidRequestURI),
    ]

    @Test("validator", arguments: cases)
    func validate(_ c: ValidationCase) throws {
        var r = try invite()
        c.edit(&r)
        let rejection = RequestValidator().validate(r)
        #expect(rejection?.statusCode == c.status)
        #expect(rejection?.code == c.code)
        if let rejection {
            let reply = SIPResponse(replyingTo: r, rejection: rejection, toTag: "t")
            #expect(reply.statusCode == c.status)
            if c.status == 405 { #expect(reply.headers[.allow] == "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO") }
            if c.status == 420 { #expect(reply.headers[.unsupported] == "100rel") }
        }
    }
}
