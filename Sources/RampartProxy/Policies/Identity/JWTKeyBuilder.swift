import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL

/// Builds EVP_PKEYs from raw JWK parameters with EVP_PKEY_fromdata (OpenSSL 3's replacement for
/// the deprecated RSA_set0_key / EC_KEY APIs). Returned keys are owned by the caller.
package enum JWTKeyBuilder {
    package static func rsa(n: [UInt8], e: [UInt8], origin: String) throws(JWTSetupError) -> OpaquePointer {
        guard let bld = OSSL_PARAM_BLD_new() else { throw JWTSetupError("\(origin): out of memory") }
        defer { OSSL_PARAM_BLD_free(bld) }
        let bnN = n.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let bnE = e.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        defer { BN_free(bnN); BN_free(bnE) }
        guard let bnN, let bnE, OSSL_PARAM_BLD_push_BN(bld, cString("n"), bnN) == 1,
              OSSL_PARAM_BLD_push_BN(bld, cString("e"), bnE) == 1 else {
            throw JWTSetupError("\(origin): invalid RSA modulus or exponent")
        }
        return try fromdata("RSA", bld, origin: origin)
    }

    /// `point` is the uncompressed SEC1 encoding 0x04||x||y; OpenSSL checks it lies on the curve.
    package static func ec(group: StaticString, point: [UInt8], origin: String) throws(JWTSetupError) -> OpaquePointer {
        guard let bld = OSSL_PARAM_BLD_new() else { throw JWTSetupError("\(origin): out of memory") }
        defer { OSSL_PARAM_BLD_free(bld) }
        // The builder keeps the pointer until OSSL_PARAM_BLD_to_param, so the bytes need a stable home.
        let stable = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: point.count)
        defer { stable.deallocate() }
        _ = stable.initialize(from: point)
        guard OSSL_PARAM_BLD_push_utf8_string(bld, cString("group"), cString(group), 0) == 1,
              OSSL_PARAM_BLD_push_octet_string(bld, cString("pub"), stable.baseAddress, stable.count) == 1 else {
            throw JWTSetupError("\(origin): invalid EC parameters")
        }
        let pkey = try fromdata("EC", bld, origin: origin)
        guard publicCheck(pkey) else {
            EVP_PKEY_free(pkey)
            throw JWTSetupError("\(origin): x/y is not a point on \(group)")
        }
        return pkey
    }

    /// OSSL_PARAM_BLD stores key and value pointers rather than copying them, so names must be
    /// static C strings, not the temporaries Swift makes when passing a String.
    package static func cString(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    private static func fromdata(_ type: String, _ bld: OpaquePointer, origin: String) throws(JWTSetupError) -> OpaquePointer {
        defer { ERR_clear_error() }
        guard let params = OSSL_PARAM_BLD_to_param(bld) else { throw JWTSetupError("\(origin): out of memory") }
        defer { OSSL_PARAM_free(params) }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw JWTSetupError("\(origin): OpenSSL has no \(type) support") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_fromdata_init(ctx) == 1,
              EVP_PKEY_fromdata(ctx, &pkey, rampart_evp_pkey_public_key_selection(), params) == 1,
              let pkey else { throw JWTSetupError("\(origin): OpenSSL rejected the \(type) key parameters") }
        return pkey
    }

    private static func publicCheck(_ pkey: OpaquePointer) -> Bool {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else { return false }
        defer { EVP_PKEY_CTX_free(ctx); ERR_clear_error() }
        return EVP_PKEY_public_check(ctx) == 1
    }
}
