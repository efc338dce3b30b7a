import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL

/// The OpenSSL calls behind signature checks, kept apart from JWT rules so each is easy to audit.
enum JWTCrypto {
    /// EVP_DigestVerify with a fresh EVP_MD_CTX per call: contexts are not shareable, keys are.
    static func digestVerify(_ pkey: OpaquePointer, _ md: OpaquePointer, signature: [UInt8], input: ArraySlice<UInt8>) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, md, nil, pkey) == 1 else { return false }
        return input.withUnsafeBufferPointer { tbs in
            signature.withUnsafeBufferPointer { sig in
                EVP_DigestVerify(ctx, sig.baseAddress, sig.count, tbs.baseAddress, tbs.count) == 1
            }
        }
    }

    /// JOSE signs ECDSA as raw big-endian r||s (RFC 7518 §3.4); OpenSSL wants DER ECDSA-Sig-Value.
    static func ecdsaDER(fromJOSE raw: [UInt8], coordinateSize n: Int) -> [UInt8]? {
        guard raw.count == 2 * n, let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(n), nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + n, Int32(n), nil) }
        guard let r, let s else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        let length = i2d_ECDSA_SIG(sig, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(sig, &cursor)
        }
        return written == length ? der : nil
    }
}
