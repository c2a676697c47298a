import NIOCore
import Testing
@testable import SIPMessage

/// The byte-level helpers the parser's speed rests on, checked against the RFC's own definitions.
@Suite("lexical helpers")
struct LexicalTests {
    @Test("token characters are exactly alphanum and -.!%*_+`'~ (RFC 3261 §25.1), for every byte")
    func tokenCharacters() {
        let rfc = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(SIPMessageParser.isTokenChar(byte) == rfc.contains(byte), "byte \(byte)")
        }
    }

    @Test("parameter names compare ignoring ASCII case only (RFC 3261 §19.1.4)")
    func parameterNames() {
        let p: SIPParameters = [.init(name: "BrAnCh", value: "z9hG4bK1"), .init(name: "lr")]
        #expect(p["branch"] == "z9hG4bK1" && p["BRANCH"] == "z9hG4bK1")
        #expect(p.contains("LR") && !p.contains("l") && !p.contains("lrx"))
        #expect("tag".equalsIgnoringASCIICase("TAG") && !"tag".equalsIgnoringASCIICase("tab") && !"ß".equalsIgnoringASCIICase("SS"))
    }

    @Test("Call-ID is word [@ word]: one @ at most, a word on each side (§25.1)", arguments: [
        ("a84b4c76e66710@pc33.atlanta.example.com", true), ("plain-word", true), ("opt-1@2001:db8::1", true),
        ("<weird>{ok}", true), ("two@at@signs", false), ("@leading", false), ("trailing@", false), ("has space", false), ("é", false),
    ])
    func callIDGrammar(value: String, valid: Bool) throws {
        let text = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCall-ID: \(value)\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        let message = try SIPMessageParser().parseDatagram(ByteBuffer(string: text))
        #expect((try? message.headers.callID()) == (valid ? value : nil))
    }

    @Test("a header given twice where one is allowed is an error; the first Via is read from many")
    func singleAndFirstRows() throws {
        let text = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP one;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP two;branch=z9hG4bK2\r\nCall-ID: a\r\nCall-ID: b\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        let headers = try SIPMessageParser().parseDatagram(ByteBuffer(string: text)).headers
        #expect(try headers.topVia().branch == "z9hG4bK1")
        #expect(throws: SIPParseError.self) { try headers.callID() }
    }
}
