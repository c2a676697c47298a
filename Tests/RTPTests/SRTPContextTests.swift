import NIOCore
import RTP
import Testing

/// SRTP/SRTCP (RFC 3711, RFC 7714): libsrtp2's known answers, round trips per suite, and the
/// attacks a receiver must refuse (a flipped bit, a replay, a wrong key).
@Suite struct SRTPContextTests {
    // Known-answer vectors of libsrtp's test/srtp_driver.c (srtp_validate, srtp_validate_gcm):
    // SSRC 0xCAFEBABE, seq 0x1234, 16 payload bytes of 0xAB.
    static let key80: [UInt8] = [
        0xE1, 0xF9, 0x7A, 0x0D, 0x3E, 0x01, 0x8B, 0xE0, 0xD6, 0x4F, 0xA3, 0x2C, 0x06, 0xDE, 0x41, 0x39,
        0x0E, 0xC6, 0x75, 0xAD, 0x49, 0x8A, 0xFE, 0xEB, 0xB6, 0x96, 0x0B, 0x3A, 0xAB, 0xE6,
    ]
    static let keyGCM: [UInt8] = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
        0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB,
    ]
    static let rtpPlain: [UInt8] = [0x80, 0x0F, 0x12, 0x34, 0xDE, 0xCA, 0xFB, 0xAD, 0xCA, 0xFE, 0xBA, 0xBE] + [UInt8](repeating: 0xAB, count: 16)
    static let rtcpPlain: [UInt8] = [0x81, 0xC8, 0x00, 0x0B, 0xCA, 0xFE, 0xBA, 0xBE] + [UInt8](repeating: 0xAB, count: 16)
    static let srtp80: [UInt8] = [
        0x80, 0x0F, 0x12, 0x34, 0xDE, 0xCA, 0xFB, 0xAD, 0xCA, 0xFE, 0xBA, 0xBE, 0x4E, 0x55, 0xDC, 0x4C,
        0xE7, 0x99, 0x78, 0xD8, 0x8C, 0xA4, 0xD2, 0x15, 0x94, 0x9D, 0x24, 0x02, 0xB7, 0x8D, 0x6A, 0xCC,
        0x99, 0xEA, 0x17, 0x9B, 0x8D, 0xBB,
    ]
    static let srtcp80: [UInt8] = [
        0x81, 0xC8, 0x00, 0x0B, 0xCA, 0xFE, 0xBA, 0xBE, 0x71, 0x28, 0x03, 0x5B, 0xE4, 0x87, 0xB9, 0xBD,
        0xBE, 0xF8, 0x90, 0x41, 0xF9, 0x77, 0xA5, 0xA8, 0x80, 0x00, 0x00, 0x01, 0x99, 0x3E, 0x08, 0xCD,
        0x54, 0xD6, 0xC1, 0x23, 0x07, 0x98,
    ]
    static let srtpGCM: [UInt8] = [
        0x80, 0x0F, 0x12, 0x34, 0xDE, 0xCA, 0xFB, 0xAD, 0xCA, 0xFE, 0xBA, 0xBE, 0xC5, 0x00, 0x2E, 0xDE,
        0x04, 0xCF, 0xDD, 0x2E, 0xB9, 0x11, 0x59, 0xE0, 0x88, 0x0A, 0xA0, 0x6E, 0xD2, 0x97, 0x68, 0x26,
        0xF7, 0x96, 0xB2, 0x01, 0xDF, 0x31, 0x31, 0xA1, 0x27, 0xE8, 0xA3, 0x92,
    ]
    static let srtcpGCM: [UInt8] = [
        0x81, 0xC8, 0x00, 0x0B, 0xCA, 0xFE, 0xBA, 0xBE, 0xC9, 0x8B, 0x8B, 0x5D, 0xF0, 0x39, 0x2A, 0x55,
        0x85, 0x2B, 0x6C, 0x21, 0xAC, 0x8E, 0x70, 0x25, 0xC5, 0x2C, 0x6F, 0xBE, 0xA2, 0xB3, 0xB4, 0x46,
        0xEA, 0x31, 0x12, 0x3B, 0xA8, 0x8C, 0xE6, 0x1E, 0x80, 0x00, 0x00, 0x01,
    ]

    /// Expects `body` to throw an `RTPError` with `code`.
    static func expect(_ code: RTPError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        let error = #expect(throws: RTPError.self, sourceLocation: sourceLocation) { try body() }
        #expect(error?.code == code, sourceLocation: sourceLocation)
    }

    static func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    static func randomKey(_ suite: SRTPContext.Suite) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<suite.keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// An RTP packet with `payload` bytes of a counting pattern.
    static func packet(seq: UInt16, payload: Int = 160) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try buffer.writeRTPPacket(RTPHeader(marker: false, payloadType: 0, sequenceNumber: seq, timestamp: UInt32(seq) * 160, ssrc: 0x1234_5678),
                                  payload: ByteBuffer(bytes: (0..<payload).map { UInt8(truncatingIfNeeded: $0) }))
        return buffer
    }

    /// libsrtp's known answers: suite, master key and salt, the SRTP and SRTCP bytes of `rtpPlain`/`rtcpPlain`.
    static let knownAnswers: [(suite: SRTPContext.Suite, key: [UInt8], srtp: [UInt8], srtcp: [UInt8])] = [
        (.aesCM128HMACSHA1_80, key80, srtp80, srtcp80),
        (.aeadAES128GCM, keyGCM, srtpGCM, srtcpGCM),
    ]

    @Test("AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM (RFC 7714) give libsrtp's known SRTP and SRTCP bytes, and read them back",
          arguments: 0..<2)
    func knownAnswer(_ index: Int) throws {
        let (suite, key, srtp, srtcp) = Self.knownAnswers[index]
        let outbound = try SRTPContext(suite: suite, direction: .outbound, masterKey: key)
        var rtp = ByteBuffer(bytes: Self.rtpPlain)
        try outbound.protectRTP(&rtp)
        #expect(Self.bytes(rtp) == srtp)
        var rtcp = ByteBuffer(bytes: Self.rtcpPlain)
        try outbound.protectRTCP(&rtcp)
        #expect(Self.bytes(rtcp) == srtcp)

        let inbound = try SRTPContext(suite: suite, direction: .inbound, masterKey: key)
        var back = ByteBuffer(bytes: srtp)
        try inbound.unprotectRTP(&back)
        #expect(Self.bytes(back) == Self.rtpPlain)
        var backRTCP = ByteBuffer(bytes: srtcp)
        try inbound.unprotectRTCP(&backRTCP)
        #expect(Self.bytes(backRTCP) == Self.rtcpPlain)
    }

    @Test("each suite round-trips RTP and RTCP, adding its tag length", arguments: SRTPContext.Suite.allCases)
    func roundTrip(_ suite: SRTPContext.Suite) throws {
        let key = Self.randomKey(suite)
        let outbound = try SRTPContext(suite: suite, direction: .outbound, masterKey: key)
        let inbound = try SRTPContext(suite: suite, direction: .inbound, masterKey: key)
        let tag = switch suite { case .aesCM128HMACSHA1_80: 10; case .aesCM128HMACSHA1_32: 4; case .aeadAES128GCM: 16 }
        for seq in UInt16(1)...20 {
            let plain = try Self.packet(seq: seq)
            var wire = plain
            try outbound.protectRTP(&wire)
            #expect(wire.readableBytes == plain.readableBytes + tag)
            #expect(Self.bytes(wire).prefix(12) == Self.bytes(plain).prefix(12))
            #expect(Self.bytes(wire).dropFirst(12).prefix(160) != Self.bytes(plain).dropFirst(12).prefix(160), "payload must be encrypted")
            try inbound.unprotectRTP(&wire)
            #expect(Self.bytes(wire) == Self.bytes(plain))
        }
        let report = Self.rtcpPlain
        var rtcp = ByteBuffer(bytes: report)
        try outbound.protectRTCP(&rtcp)
        #expect(Self.bytes(rtcp) != report)
        try inbound.unprotectRTCP(&rtcp)
        #expect(Self.bytes(rtcp) == report)
    }

    /// An RTP packet of `ssrc` with a 20-byte payload.
    static func packet(seq: UInt16, ssrc: UInt32) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try buffer.writeRTPPacket(RTPHeader(marker: false, payloadType: 0, sequenceNumber: seq, timestamp: 0, ssrc: ssrc),
                                  payload: ByteBuffer(bytes: [UInt8](repeating: 0x55, count: 20)))
        return buffer
    }

    @Test("ATTACK: 1,000 forged packets of new SSRCs take no stream state; a key holder gets 64 SSRCs, the 65th is refused, known ones go on",
          arguments: SRTPContext.Suite.allCases)
    func ssrcTable(_ suite: SRTPContext.Suite) throws {
        let key = Self.randomKey(suite)
        let outbound = try SRTPContext(suite: suite, direction: .outbound, masterKey: key)
        let inbound = try SRTPContext(suite: suite, direction: .inbound, masterKey: key)
        let strangerKey = Self.randomKey(suite)
        for ssrc in UInt32(10_000)..<11_000 {
            // A sender holds at most 64 SSRCs too: the stranger uses a context per packet.
            let stranger = try SRTPContext(suite: suite, direction: .outbound, masterKey: strangerKey)
            var forged = try Self.packet(seq: 1, ssrc: ssrc)
            try stranger.protectRTP(&forged)
            Self.expect(.srtpAuthenticationFailed) { try inbound.unprotectRTP(&forged) }
        }
        for ssrc in UInt32(1)...64 {
            var wire = try Self.packet(seq: 1, ssrc: ssrc)
            try outbound.protectRTP(&wire)
            try inbound.unprotectRTP(&wire)
        }
        // The sender keeps the same bound: a 65th SSRC of ours is refused before any keystream is spent.
        var sixtyFifth = try Self.packet(seq: 1, ssrc: 65)
        Self.expect(.srtpFailed) { try outbound.protectRTP(&sixtyFifth) }
        let other = try SRTPContext(suite: suite, direction: .outbound, masterKey: key)
        var fromOther = try Self.packet(seq: 1, ssrc: 65)
        try other.protectRTP(&fromOther)
        Self.expect(.srtpFailed) { try inbound.unprotectRTP(&fromOther) }
        var known = try Self.packet(seq: 2, ssrc: 64)
        try outbound.protectRTP(&known)
        try inbound.unprotectRTP(&known)
        #expect(Self.bytes(known) == Self.bytes(try Self.packet(seq: 2, ssrc: 64)))
    }

    @Test("a packet with one flipped bit anywhere is refused as unauthenticated", arguments: SRTPContext.Suite.allCases)
    func flippedBit(_ suite: SRTPContext.Suite) throws {
        let key = Self.randomKey(suite)
        let outbound = try SRTPContext(suite: suite, direction: .outbound, masterKey: key)
        let inbound = try SRTPContext(suite: suite, direction: .inbound, masterKey: key)
        var wire = try Self.packet(seq: 7)
        try outbound.protectRTP(&wire)
        let good = Self.bytes(wire)
        // The payload, the tag and the sequence number (all covered by the tag).
        for index in [3, 12, 100, good.count - 1] {
            var forged = good
            forged[index] ^= 0x01
            var buffer = ByteBuffer(bytes: forged)
            Self.expect(.srtpAuthenticationFailed) { try inbound.unprotectRTP(&buffer) }
        }
        var genuine = ByteBuffer(bytes: good)
        try inbound.unprotectRTP(&genuine)  // the forgeries did not spend the index
    }

    @Test("the same packet twice is refused as a replay; an index behind the window as too old")
    func replay() throws {
        let key = Self.randomKey(.aesCM128HMACSHA1_80)
        let outbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .outbound, masterKey: key)
        let inbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .inbound, masterKey: key)
        var first = try Self.packet(seq: 1)
        try outbound.protectRTP(&first)
        let captured = Self.bytes(first)
        var once = ByteBuffer(bytes: captured)
        try inbound.unprotectRTP(&once)
        var twice = ByteBuffer(bytes: captured)
        Self.expect(.srtpReplayFailed) { try inbound.unprotectRTP(&twice) }
        for seq in UInt16(2)...300 {
            var next = try Self.packet(seq: seq)
            try outbound.protectRTP(&next)
            try inbound.unprotectRTP(&next)
        }
        var stale = ByteBuffer(bytes: captured)
        Self.expect(.srtpReplayOld) { try inbound.unprotectRTP(&stale) }
    }

    @Test("a packet protected with another key is refused", arguments: SRTPContext.Suite.allCases)
    func wrongKey(_ suite: SRTPContext.Suite) throws {
        let outbound = try SRTPContext(suite: suite, direction: .outbound, masterKey: Self.randomKey(suite))
        let inbound = try SRTPContext(suite: suite, direction: .inbound, masterKey: Self.randomKey(suite))
        var wire = try Self.packet(seq: 1)
        try outbound.protectRTP(&wire)
        Self.expect(.srtpAuthenticationFailed) { try inbound.unprotectRTP(&wire) }
        var rtcp = ByteBuffer(bytes: Self.rtcpPlain)
        try outbound.protectRTCP(&rtcp)
        Self.expect(.srtpAuthenticationFailed) { try inbound.unprotectRTCP(&rtcp) }
    }

    @Test("wrong key lengths and short packets give specific errors")
    func badInput() throws {
        Self.expect(.srtpBadSuite) { _ = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .inbound, masterKey: Self.keyGCM) }
        Self.expect(.srtpBadSuite) { _ = try SRTPContext(suite: .aeadAES128GCM, direction: .inbound, masterKey: []) }
        let inbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .inbound, masterKey: Self.key80)
        var short = ByteBuffer(bytes: [0x80, 0x00, 0x00])
        Self.expect(.truncated) { try inbound.unprotectRTP(&short) }
        var headerOnly = ByteBuffer(bytes: Array(Self.rtpPlain.prefix(12)))
        #expect(throws: (any Error).self) { try inbound.unprotectRTP(&headerOnly) }
    }
}
