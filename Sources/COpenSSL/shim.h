// COpenSSL: the AES and SHA-1 primitives of Debian's libcrypto (OpenSSL 3) that SRTP needs
// (Sources/RTP/SRTPContext.swift). Why not libsrtp2 for the whole transform: Debian builds libsrtp2
// against NSS, whose per-packet context setup made one AES_CM_128_HMAC_SHA1_80 packet cost 5.4–5.8 µs
// here, against 0.33–0.35 µs for the same AES and SHA-1 from libcrypto used as below (one C run, same
// machine, interleaved); at 1,000 concurrent SRTP calls that difference decided whether calls were
// served. libcrypto does the cryptography (AES-NI, SHA-NI); what is written here is the plumbing:
// counter blocks for AES counter mode (RFC 3711 §4.1.1), HMAC's precomputed inner and outer states
// (RFC 2104 §4) and one AES-GCM seal or open (RFC 7714 §8, §9). libsrtp2 remains the tests'
// reference implementation (Tests/RTPTests).
//
// The low-level SHA1_* functions are deprecated in OpenSSL 3 but present; they avoid EVP's provider
// dispatch, which doubled the cost of a packet's tag.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

/// AES-128 in ECB mode without padding, keyed once: the block function under counter mode.
static inline EVP_CIPHER_CTX *copenssl_aes128_new(const unsigned char key[16]) {
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    if (context == NULL) { return NULL; }
    if (EVP_EncryptInit_ex(context, EVP_aes_128_ecb(), NULL, key, NULL) != 1) {
        EVP_CIPHER_CTX_free(context);
        return NULL;
    }
    EVP_CIPHER_CTX_set_padding(context, 0);
    return context;
}

/// XORs `length` bytes at `data` with the AES counter-mode keystream that starts at block `iv`
/// (the last two bytes count blocks, RFC 3711 §4.1.1). `scratch` holds at least `length` rounded up
/// to 16 bytes. Returns 1 on success.
static inline int copenssl_aes_ctr_xor(EVP_CIPHER_CTX *context, const unsigned char iv[16],
                                       unsigned char *data, size_t length, unsigned char *scratch) {
    size_t blocks = (length + 15) / 16;
    if (blocks > 65536) { return 0; }
    for (size_t block = 0; block < blocks; block++) {
        unsigned char *counter = scratch + 16 * block;
        memcpy(counter, iv, 16);
        uint16_t low = (uint16_t)((iv[14] << 8) | iv[15]) + (uint16_t)block;
        counter[14] = (unsigned char)(low >> 8);
        counter[15] = (unsigned char)low;
    }
    int written = 0;
    if (EVP_EncryptUpdate(context, scratch, &written, scratch, (int)(16 * blocks)) != 1) { return 0; }
    size_t index = 0;
    for (; index + 8 <= length; index += 8) {
        uint64_t word, key;
        memcpy(&word, data + index, 8);
        memcpy(&key, scratch + index, 8);
        word ^= key;
        memcpy(data + index, &word, 8);
    }
    for (; index < length; index++) { data[index] ^= scratch[index]; }
    return 1;
}

/// HMAC-SHA1 with its key folded in once (RFC 2104 §4: the inner and outer states after the padded key).
typedef struct {
    SHA_CTX inner;
    SHA_CTX outer;
} copenssl_hmac_sha1_state;

/// Prepares `state` for `key` (at most 64 bytes: SRTP's auth keys are 20).
static inline int copenssl_hmac_sha1_init(copenssl_hmac_sha1_state *state, const unsigned char *key, size_t length) {
    if (length > 64) { return 0; }
    unsigned char pad[64];
    memset(pad, 0, sizeof pad);
    memcpy(pad, key, length);
    for (int i = 0; i < 64; i++) { pad[i] ^= 0x36; }
    SHA1_Init(&state->inner);
    SHA1_Update(&state->inner, pad, 64);
    for (int i = 0; i < 64; i++) { pad[i] ^= 0x36 ^ 0x5c; }
    SHA1_Init(&state->outer);
    SHA1_Update(&state->outer, pad, 64);
    OPENSSL_cleanse(pad, sizeof pad);
    return 1;
}

/// The 20-byte HMAC-SHA1 of `first` followed by `second` (SRTP: the packet, then the ROC).
static inline void copenssl_hmac_sha1(const copenssl_hmac_sha1_state *state, const unsigned char *first, size_t first_length,
                                      const unsigned char *second, size_t second_length, unsigned char out[20]) {
    SHA_CTX context = state->inner;
    SHA1_Update(&context, first, first_length);
    if (second_length > 0) { SHA1_Update(&context, second, second_length); }
    unsigned char inner[20];
    SHA1_Final(inner, &context);
    context = state->outer;
    SHA1_Update(&context, inner, 20);
    SHA1_Final(out, &context);
    OPENSSL_cleanse(&context, sizeof context);
}

/// Wipes a prepared HMAC state.
static inline void copenssl_hmac_sha1_clear(copenssl_hmac_sha1_state *state) { OPENSSL_cleanse(state, sizeof *state); }

/// AES-128-GCM keyed once, for sealing (`encrypt` 1) or opening (0) with 12-byte IVs.
static inline EVP_CIPHER_CTX *copenssl_gcm_new(const unsigned char key[16], int encrypt) {
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    if (context == NULL) { return NULL; }
    if (EVP_CipherInit_ex(context, EVP_aes_128_gcm(), NULL, NULL, NULL, encrypt) != 1
        || EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1
        || EVP_CipherInit_ex(context, NULL, NULL, key, NULL, encrypt) != 1) {
        EVP_CIPHER_CTX_free(context);
        return NULL;
    }
    return context;
}

/// Encrypts `data` in place with `aad` authenticated too (two pieces: SRTCP's AAD is the header
/// and the trailing index), writes the 16-byte tag. Returns 1 on success.
static inline int copenssl_gcm_seal(EVP_CIPHER_CTX *context, const unsigned char iv[12],
                                    const unsigned char *aad, size_t aad_length,
                                    const unsigned char *aad2, size_t aad2_length,
                                    unsigned char *data, size_t length, unsigned char tag[16]) {
    int written = 0;
    if (EVP_CipherInit_ex(context, NULL, NULL, NULL, iv, 1) != 1) { return 0; }
    if (EVP_CipherUpdate(context, NULL, &written, aad, (int)aad_length) != 1) { return 0; }
    if (aad2_length > 0 && EVP_CipherUpdate(context, NULL, &written, aad2, (int)aad2_length) != 1) { return 0; }
    if (length > 0 && EVP_CipherUpdate(context, data, &written, data, (int)length) != 1) { return 0; }
    if (EVP_CipherFinal_ex(context, data + length, &written) != 1) { return 0; }
    return EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
}

/// Decrypts `data` in place if the 16-byte `tag` verifies over `aad`, `aad2` and `data`. Returns 1
/// when it does; on 0 the caller discards the packet (its bytes may have been overwritten).
static inline int copenssl_gcm_open(EVP_CIPHER_CTX *context, const unsigned char iv[12],
                                    const unsigned char *aad, size_t aad_length,
                                    const unsigned char *aad2, size_t aad2_length,
                                    unsigned char *data, size_t length, const unsigned char tag[16]) {
    int written = 0;
    if (EVP_CipherInit_ex(context, NULL, NULL, NULL, iv, 0) != 1) { return 0; }
    if (EVP_CipherUpdate(context, NULL, &written, aad, (int)aad_length) != 1) { return 0; }
    if (aad2_length > 0 && EVP_CipherUpdate(context, NULL, &written, aad2, (int)aad2_length) != 1) { return 0; }
    if (length > 0 && EVP_CipherUpdate(context, data, &written, data, (int)length) != 1) { return 0; }
    if (EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) != 1) { return 0; }
    return EVP_CipherFinal_ex(context, data + length, &written) == 1;
}
#endif
