import TestSupport
import CSRTP
import NIOCore
import RTP
import Testing

/// libsrtp2 (Cisco), the reference implementation: SRTPContext must produce the very bytes
/// libsrtp produces for the same key, packets and order, and each must read the other's packets —
/// across the ROC wrap, with CSRCs, header extensions and padding, for RTP and RTCP, in every suite.
@Suite struct SRTPInteropTests {
    /// One direction of libsrtp for one suite (Sources/CSRTP/shim.h).
    final class LibSRTP {
        let session: srtp_t
        private static let initialized: Bool = srtp_init() == srtp_err_status_ok

        init(_ suite: SRTPContext.Suite, inbound: Bool, key: [UInt8]) throws {
            #expect(Self.initialized)
            let code = switch suite {
            case .aesCM128HMACSHA1_80: Int32(CSRTP_AES_CM_128_HMAC_SHA1_80)
            case .aesCM128HMACSHA1_32: Int32(CSRTP_AES_CM_128_HMAC_SHA1_32)
            case .aeadAES128GCM: Int32(CSRTP_AEAD_AES_128_GCM)
            }
            var created: srtp_t?
            var copy = key
            let status = copy.withUnsafeMutableBufferPointer { csrtp_create(&created, code, inbound ? 1 : 0, $0.baseAddress, Int32($0.count)) }
            guard status == srtp_err_status_ok, let created else { throw RTPError(.srtpFailed, "libsrtp: \(status.rawValue)") }
            session = created
        }

        deinit { srtp_dealloc(session) }

        /// Protects (`protect`) or unprotects `bytes` as RTP or RTCP; nil when libsrtp refuses.
        func run(_ bytes: [UInt8], rtcp: Bool, protect: Bool) -> [UInt8]? {
            var buffer = bytes + [UInt8](repeating: 0, count: Int(csrtp_max_trailer()))
            var length = Int32(bytes.count)
            let session = self.session
            let status = buffer.withUnsafeMutableBytes { storage -> srtp_err_status_t in
                switch (rtcp, protect) {
                case (false, true): srtp_protect(session, storage.baseAddress, &length)
                case (false, false): srtp_unprotect(session, storage.baseAddress, &length)
                case (true, true): srtp_protect_rtcp(session, storage.baseAddress, &length)
                case (true, false): srtp_unprotect_rtcp(session, storage.baseAddress, &length)
                }
            }
            return status == srtp_err_status_ok ? Array(buffer.prefix(Int(length))) : nil
        }
    }

    /// An RTP packet with `csrcs` CSRCs, an RFC 8285 one-byte extension block of `extensionWords`
    /// words (none when nil), `payload` random bytes and `padding` bytes of RTP padding.
    static func rtp(seq: UInt16, ssrc: UInt32, csrcs: Int, extensionWords: Int?, payload: Int, padding: Int, using random: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = [0x80 | (padding > 0 ? 0x20 : 0) | (extensionWords != nil ? 0x10 : 0) | UInt8(csrcs), 0x00]
        bytes += [UInt8(seq >> 8), UInt8(truncatingIfNeeded: seq)]
        bytes += withUnsafeBytes(of: (UInt32(seq) &* 160).bigEndian, Array.init) + withUnsafeBytes(of: ssrc.bigEndian, Array.init)
        for _ in 0..<csrcs { bytes += (0..<4).map { _ in UInt8.random(in: 0...255, using: &random) } }
        if let words = extensionWords {
            bytes += [0xBE, 0xDE, 0, UInt8(words)] + (0..<4 * words).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        bytes += (0..<payload).map { _ in UInt8.random(in: 0...255, using: &random) }
        if padding > 0 { bytes += [UInt8](repeating: 0, count: padding - 1) + [UInt8(padding)] }
        return bytes
    }

    static func key(_ suite: SRTPContext.Suite, using random: inout SplitMix64) -> [UInt8] {
        (0..<suite.keyLength).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    /// Our outbound and inbound contexts and libsrtp's, all under one random key.
    static func sides(_ suite: SRTPContext.Suite, using random: inout SplitMix64) throws -> (SRTPContext, SRTPContext, LibSRTP, LibSRTP) {
        let key = Self.key(suite, using: &random)
        return (try SRTPContext(suite: suite, direction: .outbound, masterKey: key), try SRTPContext(suite: suite, direction: .inbound, masterKey: key),
                try LibSRTP(suite, inbound: false, key: key), try LibSRTP(suite, inbound: true, key: key))
    }

    static func ours(_ context: SRTPContext, _ bytes: [UInt8], rtcp: Bool) -> [UInt8]? {
        var buffer = ByteBuffer(bytes: bytes)
        do {
            switch (context.direction, rtcp) {
            case (.outbound, false): try context.protectRTP(&buffer)
            case (.inbound, false): try context.unprotectRTP(&buffer)
            case (.outbound, true): try context.protectRTCP(&buffer)
            case (.inbound, true): try context.unprotectRTCP(&buffer)
            }
        } catch {
            Issue.record("SRTPContext refused: \(error)")
            return nil
        }
        return Array(buffer.readableBytesView)
    }

    @Test("SRTP: the same bytes as libsrtp for 400 packets across the ROC wrap (CSRCs, extensions, padding), each side reading the other's",
          arguments: SRTPContext.Suite.allCases)
    func rtpMatchesLibSRTP(_ suite: SRTPContext.Suite) throws {
        var random = SplitMix64(state: 0x5EED_0000 + UInt64(suite.keyLength))
        let (ours, oursIn, theirs, theirsIn) = try Self.sides(suite, using: &random)
        for step in 0..<400 {
            let seq = UInt16(truncatingIfNeeded: 65_336 + step)  // wraps after 200 packets: ROC 0 → 1
            let plain = Self.rtp(seq: seq, ssrc: 0xCAFE_F00D, csrcs: step % 4, extensionWords: step % 3 == 0 ? nil : step % 4,
                                 payload: [0, 1, 15, 16, 17, 160, 1_200][step % 7], padding: step % 5 == 0 ? 4 : 0, using: &random)
            let mine = try #require(Self.ours(ours, plain, rtcp: false))
            let reference = try #require(theirs.run(plain, rtcp: false, protect: true), "libsrtp refused packet \(step)")
            #expect(mine == reference, "packet \(step), seq \(seq)")
            #expect(theirsIn.run(mine, rtcp: false, protect: false) == plain, "libsrtp reads our packet \(step)")
            #expect(Self.ours(oursIn, reference, rtcp: false) == plain, "we read libsrtp's packet \(step)")
        }
    }

    @Test("SRTCP: the same bytes as libsrtp for 50 compound packets, each side reading the other's", arguments: SRTPContext.Suite.allCases)
    func rtcpMatchesLibSRTP(_ suite: SRTPContext.Suite) throws {
        var random = SplitMix64(state: 0xC0FF_EE00 + UInt64(suite.keyLength))
        let (ours, oursIn, theirs, theirsIn) = try Self.sides(suite, using: &random)
        for step in 0..<50 {
            // An RR with `step % 3` report blocks (RFC 3550 §6.4.2) and random contents.
            let blocks = step % 3
            var plain: [UInt8] = [0x80 | UInt8(blocks), 201, 0, UInt8(1 + 6 * blocks), 0xCA, 0xFE, 0xF0, 0x0D]
            plain += (0..<24 * blocks).map { _ in UInt8.random(in: 0...255, using: &random) }
            let mine = try #require(Self.ours(ours, plain, rtcp: true))
            let reference = try #require(theirs.run(plain, rtcp: true, protect: true), "libsrtp refused RTCP \(step)")
            #expect(mine == reference, "RTCP \(step)")
            #expect(theirsIn.run(mine, rtcp: true, protect: false) == plain, "libsrtp reads our RTCP \(step)")
            #expect(Self.ours(oursIn, reference, rtcp: true) == plain, "we read libsrtp's RTCP \(step)")
        }
    }

    @Test("a sender never protects one index twice: a repeated sequence number would reuse its keystream (RFC 3711 §9.1)",
          arguments: SRTPContext.Suite.allCases)
    func noKeystreamReuse(_ suite: SRTPContext.Suite) throws {
        var random = SplitMix64(state: 7)
        let outbound = try SRTPContext(suite: suite, direction: .outbound, masterKey: Self.key(suite, using: &random))
        let plain = Self.rtp(seq: 9, ssrc: 1, csrcs: 0, extensionWords: nil, payload: 160, padding: 0, using: &random)
        var first = ByteBuffer(bytes: plain)
        try outbound.protectRTP(&first)
        var again = ByteBuffer(bytes: plain)
        let error = #expect(throws: RTPError.self) { try outbound.protectRTP(&again) }
        #expect(error?.code == .srtpReplayFailed)
        #expect(Array(again.readableBytesView) == plain, "the refused packet is left as it was")
    }

    @Test("SSRCs are tracked apart: a second source's sequence numbers, far from the first's, are neither replays nor too old")
    func streamsPerSSRC() throws {
        var random = SplitMix64(state: 11)
        let key = Self.key(.aesCM128HMACSHA1_80, using: &random)
        let outbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .outbound, masterKey: key)
        let inbound = try SRTPContext(suite: .aesCM128HMACSHA1_80, direction: .inbound, masterKey: key)
        for (seq, ssrc) in [(UInt16(40_000), UInt32(1)), (40_001, 1), (10, 2), (40_002, 1), (11, 2)] {
            let plain = Self.rtp(seq: seq, ssrc: ssrc, csrcs: 0, extensionWords: nil, payload: 20, padding: 0, using: &random)
            let wire = try #require(Self.ours(outbound, plain, rtcp: false))
            #expect(Self.ours(inbound, wire, rtcp: false) == plain)
        }
    }

    @Test("arrival out of order across the ROC wrap: every packet is read once, in any order within the window; each replay is refused")
    func reorderedAcrossWrap() throws {
        var random = SplitMix64(state: 23)
        let key = Self.key(.aeadAES128GCM, using: &random)
        let theirs = try LibSRTP(.aeadAES128GCM, inbound: false, key: key)
        let inbound = try SRTPContext(suite: .aeadAES128GCM, direction: .inbound, masterKey: key)
        var sent: [UInt16: (plain: [UInt8], wire: [UInt8])] = [:]
        let order: [UInt16] = Array(65_530...65_535) + Array(0...5)
        for seq in order {
            let plain = Self.rtp(seq: seq, ssrc: 77, csrcs: 0, extensionWords: nil, payload: 40, padding: 0, using: &random)
            sent[seq] = (plain, try #require(theirs.run(plain, rtcp: false, protect: true)))
        }
        // 65 533 is late by 8 packets and belongs before the wrap; 0 and 1 come after 3.
        for seq: UInt16 in [65_530, 65_531, 65_532, 65_534, 65_535, 2, 3, 0, 1, 65_533, 4, 5] {
            let packet = try #require(sent[seq])
            #expect(Self.ours(inbound, packet.wire, rtcp: false) == packet.plain, "seq \(seq)")
        }
        for seq: UInt16 in [65_533, 0, 5] {
            var replay = ByteBuffer(bytes: try #require(sent[seq]).wire)
            let error = #expect(throws: RTPError.self) { try inbound.unprotectRTP(&replay) }
            #expect(error?.code == .srtpReplayFailed, "seq \(seq)")
        }
    }
}
