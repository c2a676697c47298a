// libFuzzer entry for the SIP parser (built with -sanitize=fuzzer,address by Fuzz/run.sh).
// Each input is parsed as a UDP datagram and as a TCP stream in two halves; whatever parses is
// serialized, re-parsed and validated, and must survive the round trip. Any crash, hang,
// sanitizer report or failed invariant is a finding.

import NIOCore
import SIPMessage

/// libFuzzer's driver (compiler-rt FuzzerInterface.h): runs the fuzzing loop with our callback.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links executables with `main` defined as `<Module>_main`; with `-parse-as-library` we
/// provide it and hand over to libFuzzer's driver (libFuzzer's own `main` is then not linked).
@_cdecl("SIPMessageFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzOne)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let buffer = ByteBuffer(bytes: bytes)
    let parser = SIPMessageParser()

    if let message = try? parser.parseDatagram(buffer) {
        exercise(message)
        // Serialize and parse again: it must parse to an equal message.
        guard let again = try? parser.parseDatagram(message.serialized), again == message else {
            fatalError("round trip failed")
        }
    }

    var stream = SIPMessageParser()
    var tcp = ByteBuffer()
    let half = count / 2
    tcp.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[0..<half]))
    var parsed = 0
    do {
        while let m = try stream.parse(&tcp) { exercise(m); parsed += 1 }
        tcp.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[half...]))
        while let m = try stream.parse(&tcp), parsed < 64 { exercise(m); parsed += 1 }
    } catch {
        _ = error.code
    }
    return 0
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
            guard (try? SIPAnyURI(parsing: uri.description)) == uri else { fatalError("URI round trip failed: \(r.uriText)") }
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
