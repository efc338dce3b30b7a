import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL

/// The JWS algorithms Rampart verifies. Each is bound to one key family, which is what makes
/// algorithm confusion (an RSA public key used as an HMAC secret) impossible by construction.
package enum JWTAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case es256 = "ES256", es384 = "ES384"
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"

    enum Family: String, Sendable { case rsa = "RSA", ec = "EC", hmac = "HMAC" }

    var family: Family {
        switch self {
        case .rs256, .rs384, .rs512: return .rsa
        case .es256, .es384: return .ec
        case .hs256, .hs384, .hs512: return .hmac
        }
    }

    /// RFC 7518 §3.4 pins each ES algorithm to one curve (OpenSSL group name).
    var curve: String? {
        switch self {
        case .es256: return "prime256v1"
        case .es384: return "secp384r1"
        default: return nil
        }
    }

    /// Byte length of r (and of s) in a JOSE ECDSA signature.
    var ecCoordinateSize: Int { self == .es384 ? 48 : 32 }

    /// The digest; OpenSSL returns static EVP_MD objects, safe to share across threads.
    package var digest: OpaquePointer {
        switch self {
        case .rs256, .es256, .hs256: return EVP_sha256()
        case .rs384, .es384, .hs384: return EVP_sha384()
        case .rs512, .hs512: return EVP_sha512()
        }
    }
}
