// libFuzzer entry for the SIP parser (built with -sanitize=fuzzer,address by Fuzz/run.sh).
// Each input is parsed as a UDP datagram and as a TCP stream in two halves; whatever parses is
// serialized, re-parsed and validated, and must survive the round trip. Any crash, hang,
// sanitizer report or failed invariant is a finding.

import FuzzDriver
import NIOCore
import SIPMessage

@_cdecl("SIPMessageFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    let buffer = ByteBuffer(bytes: bytes)
    let parser = SIPMessageParser()

    if let message = try? parser.parseDatagram(buffer) {
        exercise(message)
        // Serialize and parse again: it must parse to an equal message.
        let again = try? parser.parseDatagram(message.serialized)
        invariant(again == message, "round trip")
    }

    var stream = SIPMessageParser()
    var tcp = ByteBuffer()
    var parsed = 0
    do {
        for half in halves(of: bytes) {
            tcp.writeBytes(half)
            while parsed < 64, let m = try stream.parse(&tcp) { exercise(m); parsed += 1 }
        }
    } catch {
        _ = error.code
    }
}

/// Reads every typed accessor and runs the validators (they must not crash on any input).
func exercise(_ message: SIPMessage) {
    let h = message.headers
    _ = try? h.via()
    _ = try? h.from()
    _ = try? h.to()
    _ = try? h.callID()
    _ = try? h.cseq()
    _ = try? h.contact()
    _ = try? h.route()
    _ = try? h.recordRoute()
    _ = try? h.accept()
    _ = try? h.authorization()
    _ = try? h.wwwAuthenticate()
    _ = try? h.pAssertedIdentity()
    _ = try? h.remotePartyID()
    _ = try? h.privacy()
    _ = try? h.maxForwards()
    _ = try? h.expires()
    _ = h.dateIsValid()
    for field in h { _ = field.value }
    switch message {
    case .request(let r):
        if let uri = try? r.uri() {
            // A parsed URI's text must parse again to the same URI.
            invariant((try? SIPAnyURI(parsing: uri.description)) == uri, "URI round trip: \(r.uriText)")
        }
        if let rejection = RequestValidator().validate(r) {
            _ = SIPResponse(replyingTo: r, rejection: rejection, toTag: "fuzz").serialized
        }
    case .response(let r):
        _ = ResponseValidator().validate(r)
    }
}

extension SIPResponse {
    var serialized: ByteBuffer { SIPMessage.response(self).serialized }
}
