// libFuzzer entry for SMPP 3.4 PDU decoding (Sources/SMPP/SMPPPDUCodec.swift) and the delivery
// receipts inside deliver_sm, what an SMSC sends. Each input is a TCP stream in two reads.
// Invariants: only SMPPError comes out (typed throws); a decoded PDU is within the decoder's limit
// and encodes to bytes that decode to an equal PDU; a frame with a bad body is consumed whole, so
// the stream stays in sync; a bad command_length is the only error that stops the stream.

import FuzzDriver
import NIOCore
import SMPP

@_cdecl("SMPPFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

let decoder = SMPPPDUDecoder()

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    var stream = ByteBuffer()
    reads: for read in halves(of: bytes) {
        stream.writeBytes(read)
        while true {
            let before = stream.readableBytes
            let pdu: SMPPPDU?
            do {
                pdu = try decoder.parse(&stream)
            } catch {
                if case .invalidCommandLength = error { break reads }  // the ESME closes the connection
                invariant(stream.readableBytes < before, "\(error) left the frame in the buffer")
                continue
            }
            guard let pdu else {
                invariant(stream.readableBytes == before, "nil after consuming bytes")
                break
            }
            check(pdu, frameLength: before - stream.readableBytes)
        }
    }
}

func check(_ pdu: SMPPPDU, frameLength: Int) {
    invariant(frameLength >= 16 && frameLength <= decoder.maximumPDULength, "frame of \(frameLength) bytes")
    var encoded = ByteBuffer(bytes: SMPPPDUEncoder.bytes(pdu))
    invariant(encoded.readableBytes <= decoder.maximumPDULength, "re-encoded to \(encoded.readableBytes) bytes")
    let again: SMPPPDU?
    do {
        again = try decoder.parse(&encoded)
    } catch {
        invariant(false, "re-encoded PDU does not decode: \(error)")
        return
    }
    invariant(again == pdu, "round trip changed \(pdu) into \(String(describing: again))")
    invariant(encoded.readableBytes == 0, "re-encoded PDU left \(encoded.readableBytes) bytes")
    if case .deliverSm(let message) = pdu.body, let receipt = try? DeliveryReceipt.from(message) {
        invariant(!receipt.messageID.isEmpty || message.tlv(.receiptedMessageID) != nil, "receipt without an id")
    }
}
