// libFuzzer entry for the gateway protocol (Sources/GatewayProtocol): one JSON line into a
// GatewayEnvelope, what either side of the gateway ↔ core socket reads. Each input is decoded as
// one line and, as the socket reads it, as a stream in two reads framed by GatewayLineDecoder with a
// small line limit. Invariants: only GatewayProtocolError comes out; a framed line holds no newline
// and is within the limit; a decoded envelope encodes to one line that decodes to an equal
// envelope; no line over the limit is decoded.

import Foundation
import FuzzDriver
import GatewayProtocol
import NIOCore

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

    var framer = GatewayLineDecoder(maxLineLength: streamLimit)
    var buffer = ByteBuffer()
    var decoded = 0
    reading: for read in halves(of: bytes) {
        buffer.writeBytes(read)
        while decoded < 64 {
            let line: ByteBuffer?
            do {
                line = try framer.decode(buffer: &buffer)
            } catch let error as GatewayProtocolError {
                invariant(error.code == .lineTooLong, "the framer threw \(error.code)")
                break reading  // the socket closes here
            } catch {
                invariant(false, "not a GatewayProtocolError: \(error)")
                break reading
            }
            guard let line else { break }
            invariant(line.readableBytes <= streamLimit && !line.readableBytesView.contains(0x0A), "framed a line of \(line.readableBytes) bytes")
            decoded += 1
            do {
                if let envelope = try GatewayDecoder.decode(line: line) { roundTrip(envelope) }
            } catch {
                invariant(!error.detail.isEmpty, "GatewayProtocolError without detail: \(error.code)")
            }
        }
    }
    // A line longer than the limit is refused, never decoded: with 16 bytes (shorter than any
    // valid envelope, `{"v":1,"type":"ack"}` alone has 20) nothing may come out.
    var tiny = GatewayLineDecoder(maxLineLength: 16)
    var all = ByteBuffer(bytes: bytes)
    all.writeInteger(UInt8(0x0A))
    for _ in 0..<64 {
        guard let line = try? tiny.decode(buffer: &all) else { break }
        if let next = try? GatewayDecoder.decode(line: line) { invariant(false, "decoded \(next) from a line of \(line.readableBytes) bytes") }
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
