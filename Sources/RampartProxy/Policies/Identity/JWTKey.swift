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

/// A verification key, typed by family so each algorithm only ever meets keys of its own kind.
struct JWTKey: Sendable {
    enum Material: Sendable {
        case rsa(JWTPublicKey)
        case ec(JWTPublicKey, curve: String)
        case hmac([UInt8])
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
            guard let mac = JWTCrypto.hmac(algorithm.digest, key: secret, input: input) else { return false }
            return mac.count == signature.count && rampart_ct_memcmp(mac, signature, mac.count) == 0
        }
    }
}
