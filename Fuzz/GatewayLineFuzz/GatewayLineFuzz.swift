// libFuzzer entry for the gateway protocol (Sources/GatewayProtocol): one JSON line into a
// GatewayEnvelope, what either side of the gateway ↔ core socket reads. Each input is decoded as
// one line and, through GatewayDecoder, as a stream in two reads with a small line limit.
// Invariants: only GatewayProtocolError comes out (typed throws); a decoded envelope encodes to one
// line that decodes to an equal envelope; no line over the limit is decoded.

import Foundation
import FuzzDriver
import GatewayProtocol

@_cdecl("GatewayLineFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

let encoder = GatewayEncoder()
/// Small enough that fuzzer inputs reach it (the default is 64 KiB).
let streamLimit = 512

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    if let envelope = try? GatewayDecoder.decode(line: Data(bytes)) {
        roundTrip(envelope)
    }

    var stream = GatewayDecoder(maxLineLength: streamLimit)
    var decoded = 0
    for read in halves(of: bytes) {
        stream.append(read)
        while decoded < 64 {
            do {
                guard let envelope = try stream.next() else { break }
                decoded += 1
                roundTrip(envelope)
            } catch {
                invariant(!error.detail.isEmpty, "GatewayProtocolError without detail: \(error.code)")
            }
        }
    }
    // A line longer than the limit is refused, never decoded: with 16 bytes (shorter than any
    // valid envelope, `{"v":1,"type":"ack"}` alone has 20) nothing may come out.
    var tiny = GatewayDecoder(maxLineLength: 16)
    tiny.append(bytes)
    tiny.append([0x0A])
    for _ in 0..<64 {
        do {
            guard let next = try tiny.next() else { break }
            invariant(false, "decoded \(next) from a line over 16 bytes")
        } catch {
            continue  // line_too_long or malformed, as it should be
        }
    }
}

func roundTrip(_ envelope: GatewayEnvelope) {
    let line = encoder.encode(envelope)
    invariant(line.last == 0x0A && line.dropLast().firstIndex(of: 0x0A) == nil, "encoded envelope is not one line")
    do {
        let again = try GatewayDecoder.decode(line: Data(line.dropLast()))
        invariant(again == envelope, "round trip changed \(envelope) into \(again)")
    } catch {
        invariant(false, "encoded envelope does not decode (\(error)): \(String(decoding: line, as: UTF8.self))")
    }
}
