import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL

extension JWTKey {
    /// Types a loaded EVP_PKEY (taking ownership) and refuses keys too weak or of kinds no JWS
    /// algorithm here can use, so a misconfigured key fails at startup rather than per request.
    package static func typed(_ pkey: OpaquePointer, kid: String? = nil, alg: JWTAlgorithm? = nil,
                      origin: String) throws(JWTSetupError) -> JWTKey {
        let key = JWTPublicKey(taking: pkey)
        if EVP_PKEY_is_a(pkey, "RSA") == 1 {
            let bits = EVP_PKEY_get_bits(pkey)
            guard bits >= 2048 else { throw JWTSetupError("\(origin): RSA key has \(bits) bits; at least 2048 are required") }
            return JWTKey(material: .rsa(key), kid: kid, alg: alg)
        }
        if EVP_PKEY_is_a(pkey, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else {
                ERR_clear_error()
                throw JWTSetupError("\(origin): EC key without a named curve")
            }
            let curve = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard JWTAlgorithm.allCases.contains(where: { $0.curve == curve }) else {
                throw JWTSetupError("\(origin): EC curve \(curve) is not supported (P-256 for ES256, P-384 for ES384)")
            }
            return JWTKey(material: .ec(key, curve: curve), kid: kid, alg: alg)
        }
        let type = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "these"
        throw JWTSetupError("\(origin): \(type) keys are not supported; use RSA or EC P-256/P-384")
    }
}
