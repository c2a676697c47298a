// libFuzzer entry for the SDP parser (Sources/SDP, RFC 8866), the body of every INVITE and 200 a
// peer sends. Invariants: only SDPError comes out (typed throws); an accepted body is within the
// limits; the parsed description serializes to text that parses to an equal description; an offer
// gets an answer or an SDPError, and an answer to our offer negotiates or fails with an SDPError.
// Every `a=crypto` (RFC 4568) parses or fails with an SDPError, and a parsed one serializes to a
// value that parses back equal; offer/answer also runs with SRTP required.

import FuzzDriver
import SDP

@_cdecl("SDPFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

let parser = SDPParser()
/// Serializing turns bare-LF line ends into CRLF, so the re-parse allows twice the bytes.
let reparser = SDPParser(limits: .init(maxBodyBytes: 2 * parser.limits.maxBodyBytes))

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    let description: SessionDescription
    do {
        description = try parser.parse(bytes: bytes)
    } catch {
        invariant(!error.detail.isEmpty, "SDPError without detail: \(error.code)")
        return
    }
    invariant(bytes.count <= parser.limits.maxBodyBytes, "accepted \(bytes.count) bytes")
    invariant(description.media.count <= parser.limits.maxMediaDescriptions, "accepted \(description.media.count) m= lines")

    let text = description.text
    do {
        let again = try reparser.parse(text)
        invariant(again == description, "round trip changed the description:\n\(text)")
    } catch {
        invariant(false, "serialized description does not parse (\(error)):\n\(text)")
    }

    // What the gateway does with a peer's SDP: answer an offer, or check an answer to our offer.
    var session = SDPSession(address: "192.0.2.1", port: 40_000, sessionID: 1)
    if let answer = try? session.answer(description) {
        invariant((try? reparser.parse(answer.description.text)) == answer.description, "our answer does not round-trip")
    }
    var offerer = SDPSession(address: "192.0.2.1", port: 40_000, sessionID: 1)
    let offer = offerer.makeOffer()
    _ = try? offerer.negotiate(answer: description, to: offer)

    for media in description.media {
        for value in media.attributeValues("crypto") {
            guard let crypto = try? CryptoAttribute(attributeValue: value) else { continue }
            invariant((try? CryptoAttribute(attributeValue: crypto.attributeValue)) == crypto, "a=crypto does not round-trip: \(value)")
        }
    }
    var secure = SDPSession(configuration: MediaConfiguration(srtp: .required), address: "192.0.2.1", port: 40_000, sessionID: 1)
    if let answer = try? secure.answer(description) {
        invariant(answer.audio.srtp != nil, "SRTP required, yet answered without it")
    }
    var secureOfferer = SDPSession(configuration: MediaConfiguration(srtp: .required), address: "192.0.2.1", port: 40_000, sessionID: 1)
    let secureOffer = secureOfferer.makeOffer()
    if let audio = try? secureOfferer.negotiate(answer: description, to: secureOffer) {
        invariant(audio.srtp != nil, "SRTP required, yet our offer's answer negotiated without it")
    }
}
