import COpenSSL

/// The session keys of SRTP or of SRTCP in one context (RFC 3711 §4.3), derived from the master
/// key and salt and held only as libcrypto state: an AES-128 block cipher and a keyed HMAC-SHA1
/// for the AES-CM suites, an AES-128-GCM context for AEAD_AES_128_GCM (RFC 7714 §11). The derived
/// byte arrays are wiped once the contexts hold them; the contexts and the salt are wiped on deinit.
final class SRTPSessionKeys {
    /// The session salt as the first 14 (AES-CM) or 12 (GCM) bytes of a zeroed 16-byte block.
    private(set) var salt: (UInt64, UInt64) = (0, 0)
    /// AES-128 in ECB mode (AES-CM's block function) or AES-128-GCM.
    let cipher: OpaquePointer
    /// The keyed HMAC-SHA1 (AES-CM suites only).
    let hmac: UnsafeMutablePointer<copenssl_hmac_sha1_state>?

    /// RFC 3711 §4.3.1 labels: RTP uses 0, 1, 2; RTCP 3, 4, 5 (encryption, authentication, salt).
    init(suite: SRTPContext.Suite, encrypting: Bool, masterKey: ArraySlice<UInt8>, masterSalt: ArraySlice<UInt8>, firstLabel: UInt8) throws(RTPError) {
        var encryptionKey = try Self.derive(label: firstLabel, length: 16, masterKey: masterKey, masterSalt: masterSalt)
        var sessionSalt = try Self.derive(label: firstLabel + 2, length: suite.saltLength, masterKey: masterKey, masterSalt: masterSalt)
        defer {
            Self.wipe(&encryptionKey)
            Self.wipe(&sessionSalt)
        }
        withUnsafeMutableBytes(of: &salt) { block in
            for (offset, byte) in sessionSalt.enumerated() { block[offset] = byte }
        }
        if suite.isAEAD {
            guard let gcm = encryptionKey.withUnsafeBufferPointer({ copenssl_gcm_new($0.baseAddress, encrypting ? 1 : 0) }) else {
                throw RTPError(.srtpFailed, "libcrypto refused an AES-128-GCM context")
            }
            cipher = gcm
            hmac = nil
        } else {
            var authenticationKey = try Self.derive(label: firstLabel + 1, length: 20, masterKey: masterKey, masterSalt: masterSalt)
            defer { Self.wipe(&authenticationKey) }
            guard let aes = encryptionKey.withUnsafeBufferPointer({ copenssl_aes128_new($0.baseAddress) }) else {
                throw RTPError(.srtpFailed, "libcrypto refused an AES-128 context")
            }
            let state = UnsafeMutablePointer<copenssl_hmac_sha1_state>.allocate(capacity: 1)
            _ = authenticationKey.withUnsafeBufferPointer { copenssl_hmac_sha1_init(state, $0.baseAddress, $0.count) }
            cipher = aes
            hmac = state
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(cipher)  // cleanses the expanded key
        if let hmac {
            copenssl_hmac_sha1_clear(hmac)
            hmac.deallocate()
        }
        salt = (0, 0)
    }

    /// The AES-CM PRF of RFC 3711 §4.3.1 with key_derivation_rate 0 (so r = 0): `length` bytes of
    /// AES-CM keystream under the master key, starting at IV = (master salt XOR label at byte 7) * 2^16.
    /// GCM's 12-byte master salt is zero-padded to 14 bytes (RFC 7714 §11, as libsrtp does).
    static func derive(label: UInt8, length: Int, masterKey: ArraySlice<UInt8>, masterSalt: ArraySlice<UInt8>) throws(RTPError) -> [UInt8] {
        var iv = [UInt8](repeating: 0, count: 16)
        for (offset, byte) in masterSalt.enumerated() { iv[offset] = byte }
        iv[7] ^= label
        var output = [UInt8](repeating: 0, count: length)
        var scratch = [UInt8](repeating: 0, count: (length + 15) / 16 * 16)
        var key = Array(masterKey)
        defer {
            wipe(&key)
            wipe(&scratch)
            wipe(&iv)
        }
        guard let aes = key.withUnsafeBufferPointer({ copenssl_aes128_new($0.baseAddress) }) else {
            throw RTPError(.srtpFailed, "libcrypto refused an AES-128 context")
        }
        defer { EVP_CIPHER_CTX_free(aes) }
        guard copenssl_aes_ctr_xor(aes, iv, &output, length, &scratch) == 1 else {
            throw RTPError(.srtpFailed, "libcrypto could not derive a session key")
        }
        return output
    }

    /// Overwrites key material before its memory is released.
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }
}
