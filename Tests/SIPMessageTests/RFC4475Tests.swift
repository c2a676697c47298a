import Foundation
import NIOCore
import SIPMessage
import Testing

/// What the parse → validate pipeline of a UAS does with one datagram.
enum Outcome: Equatable, CustomStringConvertible {
    case accepted(isRequest: Bool)
    case reply(Int)
    case drop

    var description: String {
        switch self {
        case .accepted(let r): r ? "accepted request" : "accepted response"
        case .reply(let s): "reply \(s)"
        case .drop: "drop"
        }
    }
}

/// The pipeline the UAS core runs: parse the datagram; a failed request gets its status, a failed
/// response is dropped; then RequestValidator / ResponseValidator.
func pipeline(_ bytes: [UInt8], capabilities: SIPServerCapabilities = SIPServerCapabilities()) -> Outcome {
    let message: SIPMessage
    do {
        message = try SIPMessageParser().parseDatagram(bytes)
    } catch {
        return error.status.map(Outcome.reply) ?? .drop
    }
    switch message {
    case .request(let request):
        if let rejection = RequestValidator(capabilities: capabilities).validate(request) { return .reply(rejection.statusCode) }
        return .accepted(isRequest: true)
    case .response(let response):
        return ResponseValidator().validate(response) == nil ? .accepted(isRequest: false) : .drop
    }
}

struct TortureCase: CustomTestStringConvertible, Sendable {
    let file: String
    let section: String
    let expect: String
    let what: String
    var testDescription: String { "\(file) (\(section)): \(expect)" }
}

let corpusDirectory = Bundle.module.url(forResource: "Resources/rfc4475", withExtension: nil)!

func loadCorpus() -> [TortureCase] {
    let tsv = try! String(contentsOf: corpusDirectory.appendingPathComponent("expected.tsv"), encoding: .utf8)
    return tsv.split(separator: "\n").dropFirst(0).compactMap { line in
        guard !line.hasPrefix("#"), !line.hasPrefix("file\t") else { return nil }
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        return TortureCase(file: f[0], section: f[1], expect: f[2], what: f[3])
    }
}

func corpusBytes(_ name: String) -> [UInt8] {
    Array(try! Data(contentsOf: corpusDirectory.appendingPathComponent("\(name).dat")))
}

/// Where RFC 4475 overrides the table (see Resources/rfc4475/README.md).
let rfcOverrides: [String: String] = ["scalarlg": "drop"]

/// A UAS that serves every method the corpus's valid messages use, so "parse" rows are processed.
let corpusServer = SIPServerCapabilities(
    allowedMethods: [.invite, .ack, .bye, .cancel, .options, .register, .message],
    acceptedBodyTypes: [.sdp, SIPMediaType(type: "multipart", subtype: "mixed")]
)

@Suite("RFC 4475 torture corpus")
struct RFC4475Tests {
    @Test("the table covers every file")
    func tableCoversCorpus() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path).filter { $0.hasSuffix(".dat") }
        #expect(Set(files.map { String($0.dropLast(4)) }) == Set(loadCorpus().map(\.file)))
        #expect(loadCorpus().count == 50)
    }

    @Test("expected.tsv", arguments: loadCorpus())
    func row(_ row: TortureCase) {
        let bytes = corpusBytes(row.file)
        let expect = rfcOverrides[row.file] ?? row.expect
        let outcome = pipeline(bytes, capabilities: corpusServer)
        switch expect {
        case "parse":
            // Must parse; a request gets whatever its method calls for, never 400/505.
            if case .reply(let status) = outcome {
                #expect(status != 400 && status != 505, "\(row.file): \(outcome)")
            } else {
                #expect(outcome != .drop, "\(row.file): \(outcome)")
            }
        case "drop":
            #expect(outcome == .drop, "\(row.file): \(outcome)")
        case "405|501":
            #expect(outcome == .reply(405) || outcome == .reply(501), "\(row.file): \(outcome)")
        default:
            #expect(outcome == .reply(Int(expect)!), "\(row.file): \(outcome)")
        }
    }

    @Test("valid messages are accepted by a server allowing everything and round-trip exactly")
    func validRoundTrip() throws {
        for row in loadCorpus() where row.expect == "parse" {
            let bytes = corpusBytes(row.file)
            let message = try SIPMessageParser().parseDatagram(bytes)
            var out = ByteBuffer()
            message.write(to: &out)
            let reparsed = try SIPMessageParser().parseDatagram(out)
            #expect(reparsed == message, "\(row.file)")
            // Byte-exact: the serialized form is the datagram up to the end of its body.
            let length = out.readableBytes
            if row.file != "dblreq" && row.file != "inv2543" {
                #expect(Array(out.readableBytesView) == Array(bytes.prefix(length)), "\(row.file)")
            }
        }
    }

    @Test("replies carry the headers RFC 3261 asks for")
    func replyHeaders() throws {
        // bext01: 420 with Unsupported listing the unknown Require tags (RFC 4475 §3.3.5).
        guard case .request(let bext) = try SIPMessageParser().parseDatagram(corpusBytes("bext01")) else { Issue.record(); return }
        let r420 = try #require(RequestValidator(capabilities: corpusServer).validate(bext))
        #expect(r420.statusCode == 420)
        let reply = SIPResponse(replyingTo: bext, rejection: r420, toTag: "abc")
        #expect(reply.headers[.unsupported] == "nothingSupportsThis, nothingSupportsThisEither")
        #expect(try reply.headers.to().tag == "abc")
        #expect(try reply.headers.via().first?.branch == "z9hG4bKkdjuw")
        #expect(try reply.headers.cseq() == SIPCSeq(8, .options))

        // invut: 415 with Accept (§3.3.6).
        guard case .request(let invut) = try SIPMessageParser().parseDatagram(corpusBytes("invut")) else { Issue.record(); return }
        let r415 = try #require(RequestValidator(capabilities: corpusServer).validate(invut))
        #expect(r415.statusCode == 415)
        #expect(r415.headers.first?.0 == .accept)
        #expect(r415.headers.first?.1.contains("application/sdp") == true)

        // esc02: unknown method → 501 with Allow.
        guard case .request(let esc02) = try SIPMessageParser().parseDatagram(corpusBytes("esc02")) else { Issue.record(); return }
        let r501 = try #require(RequestValidator().validate(esc02))
        #expect(r501.statusCode == 501)
        #expect(esc02.method == .extension("RE%47IST%45R"))
    }

    @Test("a request that fails to parse still yields a reply context when Via..CSeq were read")
    func parseErrorContext() throws {
        // clerr: Content-Length larger than the datagram → 400 with a reply.
        do {
            _ = try SIPMessageParser().parseDatagram(corpusBytes("clerr"))
            Issue.record("clerr parsed")
        } catch {
            #expect(error.code == .contentLengthExceedsDatagram)
            #expect(error.status == 400)
            let context = try #require(error.replyContext)
            let reply = SIPResponse(replyingTo: context, statusCode: 400, reasonPhrase: error.reasonPhrase, toTag: "t1")
            #expect(try reply.headers.callID() == "clerr.0ha0isndaksdjweiafasdk3")
            #expect(try reply.headers.cseq() == SIPCSeq(8, .invite))
            #expect(reply.reasonPhrase == "Bad Request - Content-Length Exceeds Message")
        }
        // badvers: 505 with context.
        do {
            _ = try SIPMessageParser().parseDatagram(corpusBytes("badvers"))
            Issue.record("badvers parsed")
        } catch {
            #expect(error.code == .unsupportedVersion)
            #expect(error.status == 505)
            #expect(error.replyContext != nil)
        }
        // test: no SIP version, and no Via/CSeq → 400 but no reply context (nothing to route by).
        do {
            _ = try SIPMessageParser().parseDatagram(corpusBytes("test"))
            Issue.record("test parsed")
        } catch {
            #expect(error.code == .malformedRequestLine)
            #expect(error.status == 400)
            #expect(error.replyContext == nil)
        }
        // bigcode: a response → no status (drop).
        do {
            _ = try SIPMessageParser().parseDatagram(corpusBytes("bigcode"))
            Issue.record("bigcode parsed")
        } catch {
            #expect(error.code == .malformedStatusLine)
            #expect(error.status == nil)
        }
    }

    @Test("wsinv: folding, odd whitespace and compact forms read correctly")
    func wsinv() throws {
        guard case .request(let r) = try SIPMessageParser().parseDatagram(corpusBytes("wsinv")) else { Issue.record(); return }
        let h = r.headers
        #expect(r.method == .invite)
        #expect(try h.to().tag == "1918181833n")
        let from = try h.from()
        #expect(from.displayName == "J Rosenberg \\\"")
        #expect(from.tag == "98asjd8")
        #expect(try h.maxForwards() == 68)
        #expect(try h.cseq() == SIPCSeq(9, .invite))
        let vias = try h.via()
        #expect(vias.count == 3)
        #expect(vias[0].transport == "UDP" && vias[0].host == "192.0.2.2" && vias[0].branch == "390skdjuw")
        #expect(vias[1].transport == "TCP" && vias[1].host == "spindle.example.com" && vias[1].branch == "z9hG4bK9ikj8")
        #expect(vias[2].host == "192.168.255.111" && vias[2].branch == "z9hG4bK30239")
        #expect(h[.subject] == "")
        #expect(h["NewFangledHeader"] == "newfangled value continued newfangled value")
        guard case .addresses(let contacts)? = try h.contact() else { Issue.record(); return }
        #expect(contacts.first?.displayName == "Quoted string \"\"")
        #expect(contacts.first?.parameters["q"] == "0.33")
        #expect(contacts.first?.parameters["newparam"] == "newvalue")
        #expect(r.body.readableBytes == 150)
        #expect(try h.route().first?.uri.sipURI?.isLooseRouting == true)
    }

    @Test("escapes in URIs are decoded (esc01, escnull, semiuri, intmeth)")
    func escapes() throws {
        guard case .request(let esc01) = try SIPMessageParser().parseDatagram(corpusBytes("esc01")) else { Issue.record(); return }
        let ruri = try #require(try esc01.uri().sipURI)
        #expect(ruri.user == "sips:user@example.com" && ruri.host == "example.net")
        #expect(try esc01.headers.to().uri.sipURI?.user == "user")
        guard case .addresses(let c)? = try esc01.headers.contact() else { Issue.record(); return }
        let cu = try #require(c.first?.uri.sipURI)
        #expect(cu.user == "caller" && cu.parameters.contains("lr") && cu.parameters["name"] == "value%41")

        guard case .request(let escnull) = try SIPMessageParser().parseDatagram(corpusBytes("escnull")) else { Issue.record(); return }
        #expect(try escnull.headers.to().uri.sipURI?.user == "null-\u{0}-null")
        #expect(try escnull.headers.to().uri.description == "sip:null-%00-null@example.com")

        guard case .request(let semiuri) = try SIPMessageParser().parseDatagram(corpusBytes("semiuri")) else { Issue.record(); return }
        let su = try #require(try semiuri.uri().sipURI)
        #expect(su.user == "user;par=u@example.net" && su.host == "example.com" && su.parameters.isEmpty)
        #expect(try semiuri.headers.accept()?.count == 6)

        guard case .request(let intmeth) = try SIPMessageParser().parseDatagram(corpusBytes("intmeth")) else { Issue.record(); return }
        let iu = try #require(try intmeth.uri().sipURI)
        #expect(iu.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(iu.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        #expect(try intmeth.headers.to().displayName == "BEL:\u{7} NUL:\u{0} DEL:\u{7F}")
        #expect(try intmeth.headers.from().displayName == "token1~` token2'+_ token3*%!.-")
        #expect(try intmeth.headers.from().tag == "_token~1'+`*%!-.")
    }

    @Test("other typed reads from the corpus")
    func misc() throws {
        guard case .request(let longreq) = try SIPMessageParser().parseDatagram(corpusBytes("longreq")) else { Issue.record(); return }
        #expect(try longreq.headers.via().count == 34)
        #expect(try longreq.headers.via().last?.received == "192.0.2.5")
        guard case .request(let transports) = try SIPMessageParser().parseDatagram(corpusBytes("transports")) else { Issue.record(); return }
        #expect(try transports.headers.via().map(\.transport) == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
        guard case .request(let mpart) = try SIPMessageParser().parseDatagram(corpusBytes("mpart01")) else { Issue.record(); return }
        #expect(mpart.body.readableBytes == 553)
        #expect(try mpart.headers.topVia().rport == .some(nil))
        #expect(try mpart.headers.contentType()?.parameters["boundary"] == "7a9cbec02ceef655")
        guard case .request(let unksm2) = try SIPMessageParser().parseDatagram(corpusBytes("unksm2")) else { Issue.record(); return }
        #expect(try unksm2.headers.to().uri == .absolute(AbsoluteURI(scheme: "isbn", opaque: "2983792873")))
        guard case .request(let regaut) = try SIPMessageParser().parseDatagram(corpusBytes("regaut01")) else { Issue.record(); return }
        let auth = try #require(try regaut.headers.authorization().first)
        #expect(auth.scheme == "NoOneKnowsThisScheme" && auth["opaque-data"] == "here")
        guard case .response(let unreason) = try SIPMessageParser().parseDatagram(corpusBytes("unreason")) else { Issue.record(); return }
        #expect(unreason.statusCode == 200 && unreason.reasonPhrase.hasPrefix("= 2**3 * 5**2 но"))
        guard case .response(let noreason) = try SIPMessageParser().parseDatagram(corpusBytes("noreason")) else { Issue.record(); return }
        #expect(noreason.statusCode == 100 && noreason.reasonPhrase == "")
        guard case .request(let dbl) = try SIPMessageParser().parseDatagram(corpusBytes("dblreq")) else { Issue.record(); return }
        #expect(dbl.method == .register && dbl.body.readableBytes == 0)
        guard case .request(let inv2543) = try SIPMessageParser().parseDatagram(corpusBytes("inv2543")) else { Issue.record(); return }
        #expect(try inv2543.headers.topVia().branch == nil)
        #expect(inv2543.body.readableBytes > 0)
    }
}
