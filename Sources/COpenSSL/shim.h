#ifndef RAMPART_COPENSSL_SHIM_H
#define RAMPART_COPENSSL_SHIM_H
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

/// OpenSSL's version string (a macro-backed call Swift cannot reach directly in all versions).
static inline const char *rampart_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

/// CRYPTO_memcmp is a real function but keep one name for constant-time comparison.
static inline int rampart_ct_memcmp(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n); }

static inline int rampart_ssl_ctx_set_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }

/* JWT verification (Sources/Rampart/Policies/Identity): keys from PEM/JWK, signatures, HMAC. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/hmac.h>
#include <openssl/ec.h>
#include <openssl/bn.h>
#include <openssl/param_build.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>

/// EVP_PKEY_PUBLIC_KEY is a compound macro Swift cannot import; the selection for public-key import.
static inline int rampart_evp_pkey_public_key_selection(void) { return EVP_PKEY_PUBLIC_KEY; }

/// BIO_get_mem_data is a macro over BIO_ctrl; used to read PEM text written to a memory BIO.
static inline long rampart_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

/* TLS termination (Sources/Rampart/Server/TLSContext.swift). */
/// SSL_CTX_set_mode is a macro over SSL_CTX_ctrl.
static inline long rampart_ssl_ctx_set_server_modes(SSL_CTX *ctx) {
    return SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}
static inline uint64_t rampart_ssl_server_options(void) {
    return SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION;
}
/// Offers only http/1.1 over ALPN (Rampart's server speaks HTTP/1.1).
static int rampart_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                               const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const unsigned char h11[] = { 8, 'h','t','t','p','/','1','.','1' };
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, h11, sizeof(h11), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected; return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}
static inline void rampart_ssl_ctx_set_alpn_http11(SSL_CTX *ctx) { SSL_CTX_set_alpn_select_cb(ctx, rampart_alpn_select, NULL); }
/// Offers h2 first, then http/1.1 (server.http2.enabled): the client's best match wins.
static int rampart_alpn_select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                  const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const unsigned char both[] = { 2, 'h','2', 8, 'h','t','t','p','/','1','.','1' };
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, both, sizeof(both), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected; return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}
static inline void rampart_ssl_ctx_set_alpn_h2(SSL_CTX *ctx) { SSL_CTX_set_alpn_select_cb(ctx, rampart_alpn_select_h2, NULL); }
/// Whether the handshake chose h2.
static inline int rampart_ssl_alpn_is_h2(const SSL *ssl) {
    const unsigned char *p = NULL; unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && p[0] == 'h' && p[1] == '2';
}
/// SSL_set_tlsext_host_name is a macro over SSL_ctrl: the SNI a client connection sends.
static inline long rampart_ssl_set_sni(SSL *ssl, const char *host) { return SSL_set_tlsext_host_name(ssl, host); }
/// SSL_CTX_set_mode for client contexts (partial writes from a moving buffer, buffers released when idle).
static inline long rampart_ssl_ctx_set_client_modes(SSL_CTX *ctx) {
    return SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}
/// An HMAC key with its padded-key digest states computed once (RFC 2104 §2): a signature then
/// copies two ready contexts, where HMAC() fetches the digest and hashes the key again on every
/// call (most of its cost in OpenSSL 3). The states are only read after set-up, so one key serves
/// every thread.
typedef struct rampart_hmac_key { EVP_MD_CTX *inner; EVP_MD_CTX *outer; } rampart_hmac_key;

static inline void rampart_hmac_key_free(rampart_hmac_key *k) {
    if (!k) return;
    EVP_MD_CTX_free(k->inner); EVP_MD_CTX_free(k->outer); OPENSSL_free(k);
}

static inline rampart_hmac_key *rampart_hmac_key_new(const EVP_MD *md, const unsigned char *key, size_t keylen) {
    int bs = EVP_MD_get_block_size(md);
    if (bs <= 0 || bs > 256) return NULL;
    unsigned char k[256] = {0}, ipad[256], opad[256];
    unsigned int n = 0;
    if (keylen > (size_t)bs) { if (EVP_Digest(key, keylen, k, &n, md, NULL) != 1) return NULL; }
    else if (keylen > 0) memcpy(k, key, keylen);
    for (int i = 0; i < bs; i++) { ipad[i] = k[i] ^ 0x36; opad[i] = k[i] ^ 0x5c; }
    rampart_hmac_key *r = OPENSSL_zalloc(sizeof *r);
    if (r) {
        r->inner = EVP_MD_CTX_new(); r->outer = EVP_MD_CTX_new();
        if (!r->inner || !r->outer
            || EVP_DigestInit_ex(r->inner, md, NULL) != 1 || EVP_DigestUpdate(r->inner, ipad, (size_t)bs) != 1
            || EVP_DigestInit_ex(r->outer, md, NULL) != 1 || EVP_DigestUpdate(r->outer, opad, (size_t)bs) != 1) {
            rampart_hmac_key_free(r); r = NULL;
        }
    }
    OPENSSL_cleanse(k, sizeof k); OPENSSL_cleanse(ipad, sizeof ipad); OPENSSL_cleanse(opad, sizeof opad);
    return r;
}

/// HMAC(key, data) into `out` (EVP_MAX_MD_SIZE bytes); 1 on success.
static inline int rampart_hmac_sign(const rampart_hmac_key *k, const unsigned char *data, size_t len,
                                    unsigned char *out, unsigned int *outlen) {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) return 0;
    unsigned char inner[EVP_MAX_MD_SIZE];
    unsigned int innerlen = 0;
    int ok = EVP_MD_CTX_copy_ex(c, k->inner) == 1 && EVP_DigestUpdate(c, data, len) == 1
          && EVP_DigestFinal_ex(c, inner, &innerlen) == 1
          && EVP_MD_CTX_copy_ex(c, k->outer) == 1 && EVP_DigestUpdate(c, inner, innerlen) == 1
          && EVP_DigestFinal_ex(c, out, outlen) == 1;
    EVP_MD_CTX_free(c);
    OPENSSL_cleanse(inner, sizeof inner);
    return ok;
}
#endif
