// CSRTP: libsrtp2 (Cisco, RFC 3711) as a Swift module, for the tests only: it is the reference
// implementation Tests/RTPTests checks SRTPContext against, byte for byte and both ways. The product
// does not link it (Debian builds it on NSS, which made each packet cost 15 times what libcrypto does:
// Sources/COpenSSL/shim.h). The policy struct holds raw pointers and a linked list, so one call here
// fills it and creates the session with fixed, checked settings.
#ifndef CSRTP_SHIM_H
#define CSRTP_SHIM_H
#include <srtp2/srtp.h>
#include <string.h>

/// The crypto suites the Swift side names (RFC 4568 §6.2, RFC 7714 §14.2).

#define CSRTP_AES_CM_128_HMAC_SHA1_80 0
#define CSRTP_AES_CM_128_HMAC_SHA1_32 1
#define CSRTP_AEAD_AES_128_GCM 2

/// Master key + salt length of a suite, 0 for an unknown suite.
static inline int csrtp_key_length(int suite) {
    switch (suite) {
    case CSRTP_AES_CM_128_HMAC_SHA1_80:
    case CSRTP_AES_CM_128_HMAC_SHA1_32: return SRTP_AES_ICM_128_KEY_LEN_WSALT;
    case CSRTP_AEAD_AES_128_GCM: return SRTP_AES_GCM_128_KEY_LEN_WSALT;
    default: return 0;
    }
}

/// Creates a session for one direction with any SSRC (inbound or outbound), a 128-packet replay
/// window and no repeated sends. `key` (master key || master salt, `csrtp_key_length` bytes) is
/// only read during the call: libsrtp derives its session keys at once (RFC 3711 §4.3).
static inline srtp_err_status_t csrtp_create(srtp_t *session, int suite, int inbound, const unsigned char *key, int key_length) {
    if (key_length != csrtp_key_length(suite) || key_length == 0) { return srtp_err_status_bad_param; }
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    switch (suite) {
    case CSRTP_AES_CM_128_HMAC_SHA1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
    case CSRTP_AES_CM_128_HMAC_SHA1_32:
        // RFC 4568 §6.2.1: the 32-bit tag is for SRTP only; SRTCP keeps the 80-bit tag.
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
    case CSRTP_AEAD_AES_128_GCM:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;
    default:
        return srtp_err_status_bad_param;
    }
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = (unsigned char *)key;
    policy.window_size = 128;
    policy.allow_repeat_tx = 0;
    policy.next = NULL;
    return srtp_create(session, &policy);
}

/// The most bytes `srtp_protect`/`srtp_protect_rtcp` add (tag, MKI room, and the SRTCP index: RFC 3711 §3.4).
static inline int csrtp_max_trailer(void) { return SRTP_MAX_TRAILER_LEN + 4; }
#endif
