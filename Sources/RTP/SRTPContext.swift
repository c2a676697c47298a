// SRTPContext: one direction of SRTP/SRTCP (RFC 3711) for one call, over libsrtp2 (Sources/CSRTP:
// why a C library — libsrtp is the maintained, audited implementation every VoIP stack uses, and
// AES-CM key derivation, HMAC-SHA1 tags, AES-GCM (RFC 7714) and the replay window are not code to
// write again). One inbound and one outbound context per call, each keyed by its own master key
// (SDES, RFC 4568). Packets are protected and unprotected in place in their ByteBuffer.
//
// Key material: the master key is read once, when libsrtp derives its session keys (RFC 3711
// §4.3); libsrtp zeroes the derived keys in `srtp_dealloc` when the context is freed, and the
// copy handed to it here is zeroed right after. Nothing here logs or prints a key.

import CSRTP
import NIOCore

/// `srtp_init()` once per process (a global `let` is initialized exactly once, thread-safely).
private let srtpLibraryStatus: UInt32 = srtp_init().rawValue

/// One direction of SRTP and SRTCP for one call (RFC 3711): protects what we send or unprotects
/// what we receive, with libsrtp's replay protection (a 128-packet window, RFC 3711 §3.3.2).
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
        public var keyLength: Int { Int(csrtp_key_length(code)) }

        var code: Int32 {
            switch self {
            case .aesCM128HMACSHA1_80: Int32(CSRTP_AES_CM_128_HMAC_SHA1_80)
            case .aesCM128HMACSHA1_32: Int32(CSRTP_AES_CM_128_HMAC_SHA1_32)
            case .aeadAES128GCM: Int32(CSRTP_AEAD_AES_128_GCM)
            }
        }
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
    private let session: srtp_t

    /// The most bytes protection adds to a packet (tag, SRTCP index).
    public static let maxTrailer = Int(csrtp_max_trailer())

    /// Creates a context from `masterKey` (master key || master salt, `suite.keyLength` bytes).
    ///
    /// - Throws: `.srtpBadSuite` for a wrong key length, `.srtpFailed` when libsrtp refuses.
    public init(suite: Suite, direction: Direction, masterKey: [UInt8]) throws(RTPError) {
        guard srtpLibraryStatus == srtp_err_status_ok.rawValue else {
            throw RTPError(.srtpFailed, "srtp_init failed with status \(srtpLibraryStatus)")
        }
        guard masterKey.count == suite.keyLength else {
            throw RTPError(.srtpBadSuite, "\(suite.rawValue) needs a \(suite.keyLength)-byte master key and salt, got \(masterKey.count)")
        }
        var key = masterKey
        var created: srtp_t?
        let status = key.withUnsafeMutableBufferPointer { buffer in
            csrtp_create(&created, suite.code, direction == .inbound ? 1 : 0, buffer.baseAddress, Int32(buffer.count))
        }
        for index in key.indices { key[index] = 0 }
        guard status == srtp_err_status_ok, let created else {
            throw Self.error(status, "srtp_create")
        }
        self.suite = suite
        self.direction = direction
        session = created
    }

    deinit {
        srtp_dealloc(session)
    }

    /// Protects the RTP packet in `packet` in place: encrypts the payload, appends the tag (RFC 3711 §3.3).
    public func protectRTP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .outbound, "protectRTP on an inbound SRTP context")
        try transform(&packet, minimum: 12, grows: true) { srtp_protect($0, $1, $2) }
    }

    /// Verifies and decrypts the SRTP packet in `packet` in place (RFC 3711 §3.3).
    ///
    /// - Throws: `.srtpAuthenticationFailed`, `.srtpReplayFailed`, `.srtpReplayOld`, `.truncated`.
    public func unprotectRTP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .inbound, "unprotectRTP on an outbound SRTP context")
        try transform(&packet, minimum: 12, grows: false) { srtp_unprotect($0, $1, $2) }
    }

    /// Protects the RTCP compound packet in `packet` in place (SRTCP, RFC 3711 §3.4).
    public func protectRTCP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .outbound, "protectRTCP on an inbound SRTP context")
        try transform(&packet, minimum: 8, grows: true) { srtp_protect_rtcp($0, $1, $2) }
    }

    /// Verifies and decrypts the SRTCP packet in `packet` in place (RFC 3711 §3.4).
    ///
    /// - Throws: as `unprotectRTP`.
    public func unprotectRTCP(_ packet: inout ByteBuffer) throws(RTPError) {
        precondition(direction == .inbound, "unprotectRTCP on an outbound SRTP context")
        try transform(&packet, minimum: 8, grows: false) { srtp_unprotect_rtcp($0, $1, $2) }
    }

    private func transform(
        _ packet: inout ByteBuffer, minimum: Int, grows: Bool,
        _ operation: (srtp_t, UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> srtp_err_status_t
    ) throws(RTPError) {
        let length = packet.readableBytes
        guard length >= minimum else { throw RTPError(.truncated, "\(length)-byte packet, at least \(minimum) needed") }
        guard length <= 65_535 else { throw RTPError(.badLength, "\(length)-byte packet") }
        // Protecting writes up to `maxTrailer` bytes after the packet (a no-op when the sender
        // allocated the room); unprotecting only shortens it.
        if grows { packet.reserveCapacity(minimumWritableBytes: Self.maxTrailer) }
        let start = packet.readerIndex
        var newLength = Int32(length)
        let session = self.session
        let status = packet.withVeryUnsafeMutableBytes { storage in
            operation(session, storage.baseAddress! + start, &newLength)
        }
        guard status == srtp_err_status_ok else { throw Self.error(status, "\(length)-byte packet") }
        packet.moveWriterIndex(to: start + Int(newLength))
    }

    private static func error(_ status: srtp_err_status_t, _ what: String) -> RTPError {
        switch status {
        case srtp_err_status_auth_fail: RTPError(.srtpAuthenticationFailed, "authentication tag does not verify (\(what))")
        case srtp_err_status_replay_fail: RTPError(.srtpReplayFailed, "packet index already received (\(what))")
        case srtp_err_status_replay_old: RTPError(.srtpReplayOld, "packet index older than the replay window (\(what))")
        case srtp_err_status_bad_param: RTPError(.srtpBadSuite, "libsrtp refused the parameters (\(what))")
        default: RTPError(.srtpFailed, "libsrtp status \(status.rawValue) (\(what))")
        }
    }
}
