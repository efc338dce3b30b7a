#ifndef RAMPART_COPENSSL_SHIM_H
#define RAMPART_COPENSSL_SHIM_H
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
#endif
