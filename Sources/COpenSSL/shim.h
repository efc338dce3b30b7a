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
#endif
