import TestSupport
import NIOCore
import RTP
import Testing

@Suite struct RTPPacketTests {
    /// A PCMU packet as on the wire: V=2, M=1, PT=0, seq 0x1234, ts 0xDEADBEEF, SSRC 0x01020304, 4 payload bytes.
    static let pcmu: [UInt8] = [0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 0xFF, 0x7F, 0x00, 0x80]

    @Test func parsesFixedHeader() throws {
        let packet = try RTPPacket(parsing: ByteBuffer(bytes: Self.pcmu))
        #expect(packet.header == RTPHeader(marker: true, payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xDEAD_BEEF, ssrc: 0x0102_0304))
        #expect(packet.payload.bytes == [0xFF, 0x7F, 0x00, 0x80])
        #expect(packet.csrcCount == 0)
        #expect(packet.headerExtension == nil)
        #expect(packet.paddingLength == 0)
    }

    @Test func writesTheSameBytes() throws {
        var buffer = ByteBuffer()
        try buffer.writeRTPPacket(RTPHeader(marker: true, payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xDEAD_BEEF, ssrc: 0x0102_0304), payload: ByteBuffer(bytes: [0xFF, 0x7F, 0x00, 0x80]))
        #expect(buffer.bytes == Self.pcmu)
    }

    @Test func roundTripsCSRCsExtensionAndPadding() throws {
        let header = RTPHeader(marker: false, payloadType: 111, sequenceNumber: 65535, timestamp: 1, ssrc: 0xCAFE_BABE)
        var buffer = ByteBuffer()
        let ext = RTPHeaderExtension(profile: 0xBEDE, data: ByteBuffer(bytes: [0x10, 0xAA, 0x00]))  // padded to one word
        try buffer.writeRTPHeader(header, csrcs: [1, 2, 0xFFFF_FFFF], extension: ext, padded: true)
        buffer.writeBytes([9, 8, 7, 6, 5])
        try buffer.writeRTPPadding(count: 3)
        #expect(buffer.readableBytes == 12 + 12 + 4 + 4 + 5 + 3)
        #expect(buffer.getInteger(at: 0, as: UInt8.self) == 0b1011_0011)  // V=2 P=1 X=1 CC=3

        let packet = try RTPPacket(parsing: buffer)
        #expect(packet.header == header)
        #expect(packet.csrcCount == 3)
        #expect((0..<3).compactMap(packet.csrc(at:)) == [1, 2, 0xFFFF_FFFF])
        #expect(packet.csrc(at: 3) == nil)
        #expect(packet.headerExtension?.profile == 0xBEDE)
        #expect(packet.headerExtension?.data.bytes == [0x10, 0xAA, 0x00, 0x00])
        #expect(packet.payload.bytes == [9, 8, 7, 6, 5])
        #expect(packet.paddingLength == 3)
    }

    @Test func parsesAtNonZeroReaderIndex() throws {
        var buffer = ByteBuffer(bytes: [0xEE, 0xEE] + Self.pcmu)
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try RTPPacket(parsing: buffer).header.sequenceNumber == 0x1234)
    }

    @Test(arguments: [
        ([UInt8](), RTPError.Code.truncated),
        (Array(pcmu.prefix(11)), .truncated),
        ([0x40] + Array(pcmu.dropFirst()), .badVersion),
        ([0x00] + Array(pcmu.dropFirst()), .badVersion),
        ([0x82] + Array(pcmu.dropFirst()), .truncated),  // CC=2 needs 8 more bytes than the 4 present
        ([0x90] + Array(pcmu.dropFirst()), .truncated),  // X=1, extension claims 0x0080 words
        ([0xA0] + Array(pcmu.dropFirst().dropLast()) + [0x00], .badPadding),  // padding count 0
        ([0xA0] + Array(pcmu.dropFirst().dropLast()) + [0x05], .badPadding),  // 5 > 4 bytes after header
        ([0xA0] + Array(pcmu.prefix(12).dropFirst()), .badPadding),  // padding bit, no bytes
    ])
    func rejectsInvalidPackets(bytes: [UInt8], code: RTPError.Code) {
        #expect { try RTPPacket(parsing: ByteBuffer(bytes: bytes)) } throws: { ($0 as? RTPError)?.code == code }
    }

    @Test func refusesUnencodableValues() {
        var buffer = ByteBuffer()
        #expect { try buffer.writeRTPHeader(RTPHeader(payloadType: 128, sequenceNumber: 0, timestamp: 0, ssrc: 0)) } throws: { ($0 as? RTPError)?.code == .valueOutOfRange }
        #expect { try buffer.writeRTPHeader(RTPHeader(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0), csrcs: Array(repeating: 1, count: 16)) } throws: { ($0 as? RTPError)?.code == .valueOutOfRange }
        #expect { try buffer.writeRTPPadding(count: 0) } throws: { ($0 as? RTPError)?.code == .valueOutOfRange }
    }

    @Test func fuzzedBytesNeverTrap() {
        var rng = SplitMix64(state: 7)
        for _ in 0..<5000 {
            let length = Int.random(in: 0...40, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !bytes.isEmpty { bytes[0] = (bytes[0] & 0x3F) | 0x80 }
            _ = try? RTPPacket(parsing: ByteBuffer(bytes: bytes))
            _ = try? RTCPCompoundPacket.parse(ByteBuffer(bytes: bytes))
            _ = try? TelephoneEvent(parsing: ByteBuffer(bytes: bytes))
        }
    }
}
