import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL

/// An owned EVP_PKEY. OpenSSL documents a fully built EVP_PKEY as safe for concurrent
/// verification (each use creates its own EVP_PKEY_CTX), and nothing mutates it after loading.
final class JWTPublicKey: @unchecked Sendable {
    package let pkey: OpaquePointer

    /// Takes ownership of `pkey` (one reference, freed on deinit).
    package init(taking pkey: OpaquePointer) { self.pkey = pkey }

    deinit { EVP_PKEY_free(pkey) }
}

/// An HMAC secret with its key states prepared once per HS algorithm (`rampart_hmac_key`): a
/// verification then hashes only the token. Read-only after init, so shared across loops.
final class JWTHMACSecret: @unchecked Sendable {
    private let hs256, hs384, hs512: UnsafeMutablePointer<rampart_hmac_key>?

    init(_ secret: [UInt8]) {
        func prepare(_ alg: JWTAlgorithm) -> UnsafeMutablePointer<rampart_hmac_key>? {
            secret.withUnsafeBufferPointer { rampart_hmac_key_new(alg.digest, $0.baseAddress, $0.count) }
        }
        hs256 = prepare(.hs256); hs384 = prepare(.hs384); hs512 = prepare(.hs512)
    }

    deinit { rampart_hmac_key_free(hs256); rampart_hmac_key_free(hs384); rampart_hmac_key_free(hs512) }

    /// Whether `signature` is the HMAC of `input` under `algorithm`, compared in constant time.
    func verifies(_ signature: [UInt8], over input: ArraySlice<UInt8>, with algorithm: JWTAlgorithm) -> Bool {
        let key: UnsafeMutablePointer<rampart_hmac_key>?
        switch algorithm {
        case .hs256: key = hs256
        case .hs384: key = hs384
        case .hs512: key = hs512
        default: return false
        }
        guard let key else { return false }
        var mac = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &mac) { out -> Bool in
            var length: UInt32 = 0
            let signed = input.withUnsafeBufferPointer { d in
                rampart_hmac_sign(key, d.baseAddress, d.count, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
            }
            guard signed == 1, Int(length) == signature.count else { return false }
            return rampart_ct_memcmp(out.baseAddress, signature, Int(length)) == 0
        }
    }
}

/// A verification key, typed by family so each algorithm only ever meets keys of its own kind.
struct JWTKey: Sendable {
    enum Material: Sendable {
        case rsa(JWTPublicKey)
        case ec(JWTPublicKey, curve: String)
        case hmac(JWTHMACSecret)
    }

    var material: Material
    /// JWKS `kid`; PEM keys and the HMAC secret have none.
    package var kid: String?
    /// JWKS `alg`: when present the key is used for that algorithm only (RFC 7517 §4.4).
    package var alg: JWTAlgorithm?

    package var family: JWTAlgorithm.Family {
        switch material {
        case .rsa: return .rsa
        case .ec: return .ec
        case .hmac: return .hmac
        }
    }

    /// Whether this key may verify `alg`: same family, same curve, and no conflicting JWKS `alg`.
    package func accepts(_ algorithm: JWTAlgorithm) -> Bool {
        if let alg, alg != algorithm { return false }
        switch material {
        case .rsa: return algorithm.family == .rsa
        case .ec(_, let curve): return algorithm.family == .ec && algorithm.curve == curve
        case .hmac: return algorithm.family == .hmac
        }
    }

    /// Checks `signature` over `input` (the ASCII `header.payload`). Never throws: any OpenSSL
    /// failure is a failed verification, and the thread's error queue is left empty.
    package func verify(_ signature: [UInt8], over input: ArraySlice<UInt8>, with algorithm: JWTAlgorithm) -> Bool {
        guard accepts(algorithm) else { return false }
        defer { ERR_clear_error() }
        switch material {
        case .rsa(let key):
            return JWTCrypto.digestVerify(key.pkey, algorithm.digest, signature: signature, input: input)
        case .ec(let key, _):
            guard let der = JWTCrypto.ecdsaDER(fromJOSE: signature, coordinateSize: algorithm.ecCoordinateSize) else { return false }
            return JWTCrypto.digestVerify(key.pkey, algorithm.digest, signature: der, input: input)
        case .hmac(let secret):
            return secret.verifies(signature, over: input, with: algorithm)
        }
    }
}
