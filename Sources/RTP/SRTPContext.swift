// SRTPContext: one direction of SRTP/SRTCP (RFC 3711, RFC 7714) for one call. The cryptography is
// libcrypto's (Sources/COpenSSL/shim.h: AES-NI and SHA-NI through OpenSSL 3); what is written here
// is the packet transform around it — which bytes are encrypted and authenticated, the IVs, the
// packet index and the replay window — because Debian's libsrtp2, which does exactly this, is built
// on NSS and cost 5.4–5.8 µs per packet against 0.33–0.35 µs here (the header of shim.h says how it
// was measured). libsrtp2 stays as the reference the tests check every suite against, both ways
// (Tests/RTPTests/SRTPInteropTests.swift), together with its own known answers.
//
// One inbound and one outbound context per call, each keyed by its own master key (SDES, RFC 4568).
// Packets are protected and unprotected in place in their ByteBuffer.
//
// Key material: the master key is read once, when the session keys are derived (RFC 3711 §4.3);
// derived keys live only inside libcrypto contexts, which are cleansed when freed, and every
// intermediate copy is wiped. Nothing here logs or prints a key.

import COpenSSL
import NIOCore

/// One direction of SRTP and SRTCP for one call (RFC 3711): protects what we send or unprotects
/// what we receive, with replay protection (a 128-packet window per SSRC, RFC 3711 §3.3.2).
///
/// Not thread-safe: confine it to one event loop, as the media shell does.
public final class SRTPContext {
    /// The SRTP crypto suites Verigate offers and accepts (RFC 4568 §6.2, RFC 7714 §14.2).
    public enum Suite: String, Sendable, CaseIterable {
        /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag (RFC 4568 §6.2.1).
        case aesCM128HMACSHA1_80 = "AES_CM_128_HMAC_SHA1_80"
        /// AES-128 counter mode, HMAC-SHA1 with a 32-bit SRTP tag; SRTCP keeps 80 bits (RFC 4568 §6.2.2).
        case aesCM128HMACSHA1_32 = "AES_CM_128_HMAC_SHA1_32"
        /// AES-128 GCM with a 16-octet tag (RFC 7714 §14.2).
        case aeadAES128GCM = "AEAD_AES_128_GCM"

        /// Master key plus master salt in bytes: 16 + 14 for AES-CM, 16 + 12 for GCM (RFC 7714 §12).
        public var keyLength: Int { 16 + saltLength }

        /// Master and session salt length: 112 bits for AES-CM (RFC 3711 §8.2), 96 for GCM (RFC 7714 §12).
        var saltLength: Int { isAEAD ? 12 : 14 }

        /// Whether the suite is an AEAD (RFC 7714) rather than AES-CM with HMAC-SHA1.
        var isAEAD: Bool { self == .aeadAES128GCM }

        /// The tag an SRTP packet carries.
        var rtpTagLength: Int {
            switch self {
            case .aesCM128HMACSHA1_80: 10
            case .aesCM128HMACSHA1_32: 4
            case .aeadAES128GCM: 16
            }
        }

        /// The tag an SRTCP packet carries: 80 bits for both AES-CM suites (RFC 4568 §6.2.2, RFC 3711 §3.4).
        var rtcpTagLength: Int { isAEAD ? 16 : 10 }
    }

    /// Which way the context works.
    public enum Direction: Sendable {
        /// Unprotects what the peer sends (any SSRC).
        case inbound
        /// Protects what we send (any SSRC).
        case outbound
    }

    /// The suite in use.
    public let suite: Suite
    /// The direction.
    public let direction: Direction

    /// The most bytes protection adds to a packet: GCM's 16-byte tag and SRTCP's 4-byte E flag and index.
    public static let maxTrailer = 20

    /// SSRCs one context keeps index state for; a further authenticated SSRC is refused. Only a
    /// holder of the key can make a context learn an SSRC, so this bounds a buggy peer, not an attacker.
    static let maxStreams = 64

    /// RFC 3711 §9.2: a master key protects at most 2^48 SRTP and 2^31 SRTCP packets.
    static let srtpIndexLimit: UInt64 = 1 << 48
    static let srtcpIndexLimit: UInt64 = 1 << 31

    /// The index state of one SSRC.
    private struct Stream {
        var rtp = SRTPReplayWindow()
        var rtcp = SRTPReplayWindow()
        /// The last SRTCP index sent (outbound): libsrtp's first is 1.
        var rtcpSent: UInt64 = 0
    }

    private let rtpKeys: SRTPSessionKeys
    private let rtcpKeys: SRTPSessionKeys
    private var streams: [UInt32: Stream] = [:]
    /// Room for AES-CM keystream; grows to the longest packet seen.
    private var scratch: UnsafeMutableRawBufferPointer

    /// Creates a context from `masterKey` (master key || master salt, `suite.keyLength` bytes).
    ///
    /// - Throws: `.srtpBadSuite` for a wrong key length, `.srtpFailed` when libcrypto refuses.
    public init(suite: Suite, direction: Direction, masterKey: [UInt8]) throws(RTPError) {
        guard masterKey.count == suite.keyLength else {
            throw RTPError(.srtpBadSuite, "\(suite.rawValue) needs a \(suite.keyLength)-byte master key and salt, got \(masterKey.count)")
        }
        let key = masterKey[..<16]
        let salt = masterKey[16...]
        let encrypting = direction == .outbound
        rtpKeys = try SRTPSessionKeys(suite: suite, encrypting: encrypting, masterKey: key, masterSalt: salt, firstLabel: 0)
        rtcpKeys = try SRTPSessionKeys(suite: suite, encrypting: encrypting, masterKey: key, masterSalt: salt, firstLabel: 3)
        self.suite = suite
        self.direction = direction
        scratch = .allocate(byteCount: 2_048, alignment: 16)
    }

    deinit {
        OPENSSL_cleanse(scratch.baseAddress, scratch.count)
        scratch.deallocate()
    }

    /// Protects the RTP packet in `packet` in place: encrypts the payload, appends the tag (RFC 3711 §3.3).
    ///
    /// - Throws: `.truncated` for a packet shorter than its header, `.srtpReplayFailed` for an index
    ///   already sent (its keystream would be used twice), `.srtpKeyExhausted` after 2^48 packets.
    public func protectRTP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .outbound, "protectRTP on an inbound SRTP context")
        try transform(&packet, grows: suite.rtpTagLength) { base, length throws(RTPError) in try self.protectRTP(base, length) }
    }

    /// Verifies and decrypts the SRTP packet in `packet` in place (RFC 3711 §3.3, RFC 7714 §8).
    ///
    /// - Throws: `.srtpAuthenticationFailed`, `.srtpReplayFailed`, `.srtpReplayOld`, `.truncated`.
    public func unprotectRTP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .inbound, "unprotectRTP on an outbound SRTP context")
        try transform(&packet, grows: 0) { base, length throws(RTPError) in try self.unprotectRTP(base, length) }
    }

    /// Protects the RTCP compound packet in `packet` in place (SRTCP, RFC 3711 §3.4, RFC 7714 §9).
    public func protectRTCP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .outbound, "protectRTCP on an inbound SRTP context")
        try transform(&packet, grows: suite.rtcpTagLength + 4) { base, length throws(RTPError) in try self.protectRTCP(base, length) }
    }

    /// Verifies and decrypts the SRTCP packet in `packet` in place (RFC 3711 §3.4, RFC 7714 §9).
    ///
    /// - Throws: as `unprotectRTP`.
    public func unprotectRTCP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .inbound, "unprotectRTCP on an outbound SRTP context")
        try transform(&packet, grows: 0) { base, length throws(RTPError) in try self.unprotectRTCP(base, length) }
    }

    /// Runs `operation` on the packet's bytes (with `grows` bytes of room after them) and sets the
    /// packet's length to what it returns.
    private func transform(
        _ packet: inout ByteBuffer, grows: Int,
        _ operation: (UnsafeMutableRawPointer, Int) throws(RTPError) -> Int
    ) throws(RTPError) {
        let length = packet.readableBytes
        guard length <= 65_535 else { throw RTPError(.badLength, "\(length)-byte packet") }
        // A no-op when the sender allocated the room.
        if grows > 0 { packet.reserveCapacity(minimumWritableBytes: grows) }
        let start = packet.readerIndex
        var result: Result<Int, RTPError> = .success(length)
        packet.withVeryUnsafeMutableBytes { storage in
            result = Result { () throws(RTPError) -> Int in try operation(storage.baseAddress! + start, length) }
        }
        packet.moveWriterIndex(to: start + (try result.get()))
    }

    // MARK: SRTP (RFC 3711 §3.3, RFC 7714 §8)

    private func protectRTP(_ base: UnsafeMutableRawPointer, _ length: Int) throws(RTPError) -> Int {
        let header = try Self.rtpHeaderLength(base, length)
        let sequenceNumber = Self.read16(base, 2)
        let ssrc = Self.read32(base, 8)
        var stream = try self.stream(ssrc)
        let index = stream.rtp.estimate(sequenceNumber: sequenceNumber)
        guard index < Self.srtpIndexLimit else { throw RTPError(.srtpKeyExhausted, "2^48 SRTP packets under one master key (RFC 3711 §9.2)") }
        guard stream.rtp.check(index) == .fresh else {
            throw RTPError(.srtpReplayFailed, "SRTP index \(index) already sent: its keystream would be used twice")
        }
        let tagLength = suite.rtpTagLength
        if suite.isAEAD {
            var iv = gcmIV(rtpKeys, ssrc: ssrc, high: UInt32(truncatingIfNeeded: index >> 16), low: UInt32(sequenceNumber))
            guard copenssl_gcm_seal(rtpKeys.cipher, &iv, base, header, nil, 0, base + header, length - header, base + length) == 1 else {
                throw RTPError(.srtpFailed, "libcrypto could not seal an SRTP packet")
            }
        } else {
            try counterMode(rtpKeys, ssrc: ssrc, index: index, base + header, length - header)
            var roc = UInt32(truncatingIfNeeded: index >> 16).bigEndian
            var tag = (UInt64(0), UInt64(0), UInt32(0))
            withUnsafeMutableBytes(of: &tag) { tagBytes in
                withUnsafeBytes(of: &roc) { copenssl_hmac_sha1(rtpKeys.hmac, base, length, $0.baseAddress, 4, tagBytes.baseAddress) }
                (base + length).copyMemory(from: tagBytes.baseAddress!, byteCount: tagLength)
            }
        }
        stream.rtp.accept(index)
        streams[ssrc] = stream
        return length + tagLength
    }

    private func unprotectRTP(_ base: UnsafeMutableRawPointer, _ length: Int) throws(RTPError) -> Int {
        let tagLength = suite.rtpTagLength
        guard length >= 12 + tagLength else { throw RTPError(.truncated, "\(length)-byte SRTP packet, at least \(12 + tagLength) needed") }
        let protected = length - tagLength
        let header = try Self.rtpHeaderLength(base, protected)
        let sequenceNumber = Self.read16(base, 2)
        let ssrc = Self.read32(base, 8)
        var stream = streams[ssrc] ?? Stream()
        let index = stream.rtp.estimate(sequenceNumber: sequenceNumber)
        try Self.check(stream.rtp, index, "SRTP")
        if suite.isAEAD {
            var iv = gcmIV(rtpKeys, ssrc: ssrc, high: UInt32(truncatingIfNeeded: index >> 16), low: UInt32(sequenceNumber))
            guard copenssl_gcm_open(rtpKeys.cipher, &iv, base, header, nil, 0, base + header, protected - header, base + protected) == 1 else {
                throw RTPError(.srtpAuthenticationFailed, "authentication tag does not verify (\(length)-byte packet)")
            }
        } else {
            var roc = UInt32(truncatingIfNeeded: index >> 16).bigEndian
            var tag = (UInt64(0), UInt64(0), UInt32(0))
            let verified = withUnsafeMutableBytes(of: &tag) { tagBytes in
                withUnsafeBytes(of: &roc) { copenssl_hmac_sha1(rtpKeys.hmac, base, protected, $0.baseAddress, 4, tagBytes.baseAddress) }
                return CRYPTO_memcmp(tagBytes.baseAddress, base + protected, tagLength) == 0
            }
            guard verified else { throw RTPError(.srtpAuthenticationFailed, "authentication tag does not verify (\(length)-byte packet)") }
            try counterMode(rtpKeys, ssrc: ssrc, index: index, base + header, protected - header)
        }
        try remember(&stream, ssrc)
        stream.rtp.accept(index)
        streams[ssrc] = stream
        return protected
    }

    // MARK: SRTCP (RFC 3711 §3.4, RFC 7714 §9)

    private func protectRTCP(_ base: UnsafeMutableRawPointer, _ length: Int) throws(RTPError) -> Int {
        guard length >= 8 else { throw RTPError(.truncated, "\(length)-byte RTCP packet, at least 8 needed") }
        let ssrc = Self.read32(base, 4)
        var stream = try self.stream(ssrc)
        let index = stream.rtcpSent + 1
        guard index < Self.srtcpIndexLimit else { throw RTPError(.srtpKeyExhausted, "2^31 SRTCP packets under one master key (RFC 3711 §9.2)") }
        // The E flag (encrypted) and the 31-bit SRTCP index, after the packet or, for GCM, after its tag.
        var flagAndIndex = (UInt32(1) << 31 | UInt32(index)).bigEndian
        let total: Int
        if suite.isAEAD {
            var iv = gcmIV(rtcpKeys, ssrc: ssrc, high: 0, low: UInt32(index))
            let sealed = withUnsafeBytes(of: &flagAndIndex) { trailer in
                copenssl_gcm_seal(rtcpKeys.cipher, &iv, base, 8, trailer.baseAddress, 4, base + 8, length - 8, base + length)
            }
            guard sealed == 1 else { throw RTPError(.srtpFailed, "libcrypto could not seal an SRTCP packet") }
            (base + length + 16).storeBytes(of: flagAndIndex, as: UInt32.self)
            total = length + 16 + 4
        } else {
            try counterMode(rtcpKeys, ssrc: ssrc, index: index, base + 8, length - 8)
            (base + length).storeBytes(of: flagAndIndex, as: UInt32.self)
            var tag = (UInt64(0), UInt64(0), UInt32(0))
            withUnsafeMutableBytes(of: &tag) { tagBytes in
                copenssl_hmac_sha1(rtcpKeys.hmac, base, length + 4, nil, 0, tagBytes.baseAddress)
                (base + length + 4).copyMemory(from: tagBytes.baseAddress!, byteCount: 10)
            }
            total = length + 4 + 10
        }
        stream.rtcpSent = index
        streams[ssrc] = stream
        return total
    }

    private func unprotectRTCP(_ base: UnsafeMutableRawPointer, _ length: Int) throws(RTPError) -> Int {
        let tagLength = suite.rtcpTagLength
        guard length >= 8 + 4 + tagLength else {
            throw RTPError(.truncated, "\(length)-byte SRTCP packet, at least \(8 + 4 + tagLength) needed")
        }
        let ssrc = Self.read32(base, 4)
        var stream = streams[ssrc] ?? Stream()
        // AES-CM: … E‖index, tag. GCM: … tag, E‖index.
        let trailer = suite.isAEAD ? length - 4 : length - tagLength - 4
        let flagAndIndex = Self.read32(base, trailer)
        let encrypted = flagAndIndex & 0x8000_0000 != 0
        let index = UInt64(flagAndIndex & 0x7FFF_FFFF)
        try Self.check(stream.rtcp, index, "SRTCP")
        let plain: Int
        if suite.isAEAD {
            plain = length - 4 - 16
            var iv = gcmIV(rtcpKeys, ssrc: ssrc, high: 0, low: UInt32(index))
            // E = 0: the whole packet is authenticated only (RFC 7714 §9.3).
            let aad = encrypted ? 8 : plain
            let opened = copenssl_gcm_open(rtcpKeys.cipher, &iv, base, aad, base + trailer, 4, base + aad, plain - aad, base + plain)
            guard opened == 1 else { throw RTPError(.srtpAuthenticationFailed, "authentication tag does not verify (\(length)-byte SRTCP packet)") }
        } else {
            plain = trailer
            var tag = (UInt64(0), UInt64(0), UInt32(0))
            let verified = withUnsafeMutableBytes(of: &tag) { tagBytes in
                copenssl_hmac_sha1(rtcpKeys.hmac, base, trailer + 4, nil, 0, tagBytes.baseAddress)
                return CRYPTO_memcmp(tagBytes.baseAddress, base + trailer + 4, tagLength) == 0
            }
            guard verified else { throw RTPError(.srtpAuthenticationFailed, "authentication tag does not verify (\(length)-byte SRTCP packet)") }
            if encrypted { try counterMode(rtcpKeys, ssrc: ssrc, index: index, base + 8, plain - 8) }
        }
        try remember(&stream, ssrc)
        stream.rtcp.accept(index)
        streams[ssrc] = stream
        return plain
    }

    // MARK: Pieces

    /// The stream of an SSRC we send, created on first use.
    private func stream(_ ssrc: UInt32) throws(RTPError) -> Stream {
        if let stream = streams[ssrc] { return stream }
        var stream = Stream()
        try remember(&stream, ssrc)
        return stream
    }

    /// Refuses a new SSRC beyond `maxStreams`.
    private func remember(_ stream: inout Stream, _ ssrc: UInt32) throws(RTPError) {
        guard streams[ssrc] == nil, streams.count >= Self.maxStreams else { return }
        throw RTPError(.srtpFailed, "more than \(Self.maxStreams) SSRCs under one SRTP context")
    }

    private static func check(_ window: SRTPReplayWindow, _ index: UInt64, _ what: String) throws(RTPError) {
        switch window.check(index) {
        case .fresh: return
        case .replayed: throw RTPError(.srtpReplayFailed, "\(what) index \(index) already received")
        case .tooOld: throw RTPError(.srtpReplayOld, "\(what) index \(index) is older than the replay window")
        }
    }

    /// AES-CM (RFC 3711 §4.1.1): XORs `length` bytes at `data` with the keystream whose IV is
    /// (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16).
    private func counterMode(_ keys: SRTPSessionKeys, ssrc: UInt32, index: UInt64, _ data: UnsafeMutableRawPointer, _ length: Int) throws(RTPError) {
        guard length > 0 else { return }
        let needed = (length + 15) / 16 * 16
        if scratch.count < needed {
            OPENSSL_cleanse(scratch.baseAddress, scratch.count)
            scratch.deallocate()
            scratch = .allocate(byteCount: needed, alignment: 16)
        }
        var iv = keys.salt
        withUnsafeMutableBytes(of: &iv) { block in
            for byte in 0..<4 { block[4 + byte] ^= UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * byte)) }
            for byte in 0..<6 { block[8 + byte] ^= UInt8(truncatingIfNeeded: index >> (40 - 8 * byte)) }
        }
        let done = withUnsafeBytes(of: &iv) { block in
            copenssl_aes_ctr_xor(keys.cipher, block.baseAddress, data, length, scratch.baseAddress)
        }
        guard done == 1 else { throw RTPError(.srtpFailed, "libcrypto could not run AES counter mode") }
    }

    /// GCM's 12-byte IV (RFC 7714 §8.1, §9.1): 00 00 ‖ SSRC ‖ `high` ‖ `low` (ROC ‖ SEQ for SRTP,
    /// 00 00 ‖ index for SRTCP; SEQ takes the last two bytes) XOR the session salt.
    private func gcmIV(_ keys: SRTPSessionKeys, ssrc: UInt32, high: UInt32, low: UInt32) -> (UInt64, UInt64) {
        var iv = keys.salt
        withUnsafeMutableBytes(of: &iv) { block in
            for byte in 0..<4 {
                block[2 + byte] ^= UInt8(truncatingIfNeeded: ssrc >> (24 - 8 * byte))
                block[8 + byte] ^= UInt8(truncatingIfNeeded: low >> (24 - 8 * byte))
            }
            // ROC sits between SSRC and SEQ: bytes 6...9 get ROC, 10...11 SEQ.
            if high != 0 {
                for byte in 0..<4 { block[6 + byte] ^= UInt8(truncatingIfNeeded: high >> (24 - 8 * byte)) }
            }
        }
        return iv
    }

    /// The RTP header's length with its CSRCs and extension (RFC 3550 §5.1, §5.3.1).
    private static func rtpHeaderLength(_ base: UnsafeMutableRawPointer, _ length: Int) throws(RTPError) -> Int {
        guard length >= 12 else { throw RTPError(.truncated, "\(length)-byte RTP packet, at least 12 needed") }
        let first = base.load(as: UInt8.self)
        var header = 12 + 4 * Int(first & 0x0F)
        if first & 0x10 != 0 {
            guard length >= header + 4 else { throw RTPError(.truncated, "RTP extension header beyond the \(length)-byte packet") }
            header += 4 + 4 * Int(read16(base, header + 2))
        }
        guard header <= length else { throw RTPError(.truncated, "\(header)-byte RTP header in a \(length)-byte packet") }
        return header
    }

    private static func read16(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    private static func read32(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
