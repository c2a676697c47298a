import NIOCore
import SIPMessage
import Testing

@Suite("parser: framing, limits, round trips")
struct SIPMessageParserTests {
    static let samples = [typicalInvite, typicalOK, shortOptions]

    @Test("typed reads of a typical INVITE")
    func typicalInviteFields() throws {
        guard case .request(let r) = try SIPMessageParser().parseDatagram(Array(typicalInvite.utf8)) else { Issue.record(); return }
        let h = r.headers
        #expect(r.method == .invite)
        #expect(try r.uri() == .sip(SIPURI(user: "bob", host: "biloxi.example.com")))
        let via = try h.topVia()
        #expect(via.transport == "UDP" && via.host == "pc33.atlanta.example.com" && via.port == 5060)
        #expect(via.branch == "z9hG4bK776asdhds" && via.hasMagicCookie && via.rport == .some(nil))
        #expect(try h.from().displayName == "Alice" && h.from().tag == "1928301774")
        #expect(try h.to().displayName == "Bob" && h.to().tag == nil)
        #expect(try h.callID() == "a84b4c76e66710@pc33.atlanta.example.com")
        #expect(try h.cseq() == SIPCSeq(314159, .invite))
        #expect(try h.maxForwards() == 70)
        #expect(try h.contentLength() == 149)
        #expect(try h.contentType() == .sdp)
        #expect(try h.allow() == [.invite, .ack, .cancel, .options, .bye])
        #expect(try h.supported() == ["replaces", "timer"])
        let pai = try h.pAssertedIdentity()
        #expect(pai.count == 2)
        #expect(pai[0].uri.sipURI?.parameters["user"] == "phone")
        #expect(pai[1].uri == .tel(TelURI(number: "+15551234567")))
        #expect(r.body.readableBytes == 149)
        #expect(RequestValidator().validate(r) == nil)
    }

    @Test("response fields, auth challenge, IPv6 sent-by, compact forms")
    func responseFields() throws {
        guard case .response(let ok) = try SIPMessageParser().parseDatagram(Array(typicalOK.utf8)) else { Issue.record(); return }
        #expect(ok.statusCode == 200 && ok.reasonPhrase == "OK")
        let via = try ok.headers.topVia()
        #expect(via.received == "192.0.2.101" && via.rport == .some(5060))
        let challenge = try #require(try ok.headers.wwwAuthenticate().first)
        #expect(challenge.scheme == "Digest" && challenge["realm"] == "biloxi.example.com" && challenge["algorithm"] == "SHA-256" && challenge["opaque"] == "")
        #expect(ResponseValidator().validate(ok) == nil)

        guard case .request(let opt) = try SIPMessageParser().parseDatagram(Array(shortOptions.utf8)) else { Issue.record(); return }
        let v = try opt.headers.topVia()
        #expect(v.host == "2001:db8::1" && v.port == 5061 && v.sentBy == "[2001:db8::1]:5061")
        #expect(try opt.headers.callID() == "opt-1@2001:db8::1")
        #expect(opt.headers["Call-ID"] == "opt-1@2001:db8::1")
        #expect(opt.headers["I"] == "opt-1@2001:db8::1")
        #expect(opt.headers.count(of: .contentLength) == 1)
    }

    @Test("serialize round-trips byte for byte", arguments: samples)
    func roundTrip(_ text: String) throws {
        let message = try SIPMessageParser().parseDatagram(Array(text.utf8))
        #expect(String(buffer: message.serialized) == text)
    }

    @Test("stream framing: any split of two pipelined messages yields both", arguments: [1, 2, 7, 64, 500])
    func streamSplits(_ chunk: Int) throws {
        let wire = Array(("\r\n\r\n" + typicalInvite + typicalOK + "\r\n").utf8)  // keep-alives around
        var parser = SIPMessageParser()
        var buffer = ByteBuffer()
        var got: [SIPMessage] = []
        var i = 0
        while i < wire.count {
            buffer.writeBytes(wire[i..<min(i + chunk, wire.count)])
            i += chunk
            while let m = try parser.parse(&buffer) { got.append(m) }
        }
        #expect(got.count == 2)
        #expect(got.map { String(buffer: $0.serialized) } == [typicalInvite, typicalOK])
        #expect(buffer.readableBytes == 0)
    }

    @Test("stream without Content-Length is a 400 with reply context")
    func streamNeedsContentLength() throws {
        let text = typicalInvite.replacingOccurrences(of: "Content-Length: 149\r\n", with: "")
        var parser = SIPMessageParser()
        var buffer = ByteBuffer(string: text)
        #expect { try parser.parse(&buffer) } throws: { error in
            guard let e = error as? SIPParseError else { return false }
            return e.code == .missingContentLength && e.status == 400 && e.replyContext != nil
        }
    }

    struct LimitCase: Sendable, CustomTestStringConvertible {
        let name: String
        let limits: SIPParserLimits
        let message: String
        let code: SIPParseError.Code
        var testDescription: String { name }
    }

    static let limitCases: [LimitCase] = [
        LimitCase(name: "size", limits: SIPParserLimits(maxMessageSize: 300), message: typicalInvite, code: .messageTooLarge),
        LimitCase(name: "header count", limits: SIPParserLimits(maxHeaderCount: 5), message: typicalInvite, code: .tooManyHeaders),
        LimitCase(name: "line length", limits: SIPParserLimits(maxLineLength: 60), message: typicalInvite, code: .lineTooLong),
        LimitCase(name: "64 KiB default", limits: SIPParserLimits(), message: "MESSAGE sip:a@b SIP/2.0\r\nl: 70000\r\n\r\n" + String(repeating: "x", count: 70_000), code: .messageTooLarge),
        LimitCase(name: "256 headers default", limits: SIPParserLimits(), message: "OPTIONS sip:a@b SIP/2.0\r\n" + String(repeating: "X-A: 1\r\n", count: 300) + "\r\n", code: .tooManyHeaders),
        LimitCase(name: "8 KiB line default", limits: SIPParserLimits(), message: "OPTIONS sip:a@b SIP/2.0\r\nX-A: " + String(repeating: "y", count: 9000) + "\r\n\r\n", code: .lineTooLong),
    ]

    @Test("each limit has its own error, for datagrams and streams", arguments: limitCases)
    func limits(_ c: LimitCase) {
        #expect { try SIPMessageParser(limits: c.limits).parseDatagram(Array(c.message.utf8)) } throws: { ($0 as? SIPParseError)?.code == c.code }
        var parser = SIPMessageParser(limits: c.limits)
        var buffer = ByteBuffer(string: c.message)
        #expect { _ = try parser.parse(&buffer) } throws: { ($0 as? SIPParseError)?.code == c.code }
    }

    @Test("a stream line growing without end is refused before the blank line arrives")
    func unboundedLine() {
        var parser = SIPMessageParser()
        var buffer = ByteBuffer(string: "OPTIONS sip:a@b SIP/2.0\r\nX: " + String(repeating: "z", count: 10_000))
        #expect { _ = try parser.parse(&buffer) } throws: { ($0 as? SIPParseError)?.code == .lineTooLong }
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        let text: String
        let code: SIPParseError.Code
        let status: Int?
        var testDescription: String { "\(code.rawValue): \(text.prefix(30))" }
    }

    static let badCases: [BadCase] = [
        BadCase(text: "INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n", code: .malformedHeader, status: 400),
        BadCase(text: "INVITE sip:a@b SIP/2.0\r\n folded-first: x\r\n\r\n", code: .malformedHeader, status: 400),
        BadCase(text: "INVITE sip:a@b SIP/2.1\r\n\r\n", code: .unsupportedVersion, status: 505),
        BadCase(text: "INVITE sip:a@b HTTP/1.1\r\n\r\n", code: .malformedRequestLine, status: 400),
        BadCase(text: "INV\u{1}TE sip:a@b SIP/2.0\r\n\r\n", code: .malformedRequestLine, status: 400),
        BadCase(text: "SIP/2.0 99 Low\r\n\r\n", code: .malformedStatusLine, status: nil),
        BadCase(text: "SIP/2.0 700 High\r\n\r\n", code: .malformedStatusLine, status: nil),
        BadCase(text: "SIP/3.0 200 OK\r\n\r\n", code: .unsupportedVersion, status: nil),
        BadCase(text: "SIP/2.0 200 OK\r\nl: 5, 5\r\n\r\nhello", code: .multipleContentLength, status: nil),
        BadCase(text: "OPTIONS sip:a@b SIP/2.0\r\nl: 1x\r\n\r\n", code: .invalidContentLength, status: 400),
        BadCase(text: "OPTIONS sip:a@b SIP/2.0\r\nl: 99999999999999999999\r\n\r\n", code: .invalidContentLength, status: 400),
        BadCase(text: "OPTIONS sip:a@b SIP/2.0\r\nVia: x", code: .truncatedHeaders, status: 400),
    ]

    @Test("malformed messages give their code and status", arguments: badCases)
    func bad(_ c: BadCase) {
        #expect { try SIPMessageParser().parseDatagram(Array(c.text.utf8)) } throws: { error in
            guard let e = error as? SIPParseError else { return false }
            return e.code == c.code && e.status == c.status
        }
    }

    @Test("header editing keeps order and round-trips")
    func editing() throws {
        guard case .request(var r) = try SIPMessageParser().parseDatagram(Array(typicalInvite.utf8)) else { Issue.record(); return }
        r.headers.addFirst(.via, "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1")
        r.headers.replaceOrAdd(.maxForwards, "69")
        r.headers.remove(.pAssertedIdentity)
        r.headers.add("X-Verigate", "1")
        let wire = String(buffer: SIPMessage.request(r).serialized)
        guard case .request(let back) = try SIPMessageParser().parseDatagram(Array(wire.utf8)) else { Issue.record(); return }
        #expect(try back.headers.via().map(\.host) == ["proxy.example.com", "pc33.atlanta.example.com"])
        #expect(try back.headers.maxForwards() == 69)
        #expect(!back.headers.contains(.pAssertedIdentity))
        #expect(back.headers["x-verigate"] == "1")
        #expect(back == r || String(buffer: SIPMessage.request(back).serialized) == wire)
    }
}
