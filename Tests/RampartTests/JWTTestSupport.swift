import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import COpenSSL
import Foundation
@testable import Rampart

/// A key pair made at test time with OpenSSL, so no key material lives in the repository.
final class JWTTestKey: @unchecked Sendable {
    let pkey: OpaquePointer

    private init(_ pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    static func rsa(bits: UInt32 = 2048) -> JWTTestKey {
        generate("RSA") { EVP_PKEY_CTX_set_rsa_keygen_bits($0, Int32(bits)) }
    }

    static func ec(_ group: String = "P-256") -> JWTTestKey {
        generate("EC") { EVP_PKEY_CTX_set_group_name($0, group) }
    }

    private static func generate(_ type: String, _ configure: (OpaquePointer) -> Int32) -> JWTTestKey {
        let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil)!
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        precondition(EVP_PKEY_keygen_init(ctx) == 1 && configure(ctx) == 1 && EVP_PKEY_generate(ctx, &pkey) == 1)
        return JWTTestKey(pkey!)
    }

    var publicPEM: String { pem { PEM_write_bio_PUBKEY($0, pkey) } }
    var privatePEM: String { pem { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) } }

    /// PKCS#1 `RSA PUBLIC KEY` PEM, the older format some tools still emit.
    var pkcs1PEM: String {
        pem { bio in
            let ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey, rampart_evp_pkey_public_key_selection(),
                                                     JWTKeyBuilder.cString("PEM"), JWTKeyBuilder.cString("type-specific"), nil)!
            defer { OSSL_ENCODER_CTX_free(ectx) }
            return OSSL_ENCODER_to_bio(ectx, bio)
        }
    }

    /// A self-signed certificate carrying the public key, as IdPs publish them.
    var certificatePEM: String {
        let x509 = X509_new()!
        defer { X509_free(x509) }
        X509_set_version(x509, 2)
        ASN1_INTEGER_set(X509_get_serialNumber(x509), 1)
        X509_gmtime_adj(X509_getm_notBefore(x509), 0)
        X509_gmtime_adj(X509_getm_notAfter(x509), 3600)
        X509_set_pubkey(x509, pkey)
        let name = X509_get_subject_name(x509)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, "rampart-test", -1, -1, 0)
        X509_set_issuer_name(x509, name)
        precondition(X509_sign(x509, pkey, EVP_sha256()) > 0)
        return pem { PEM_write_bio_X509($0, x509) }
    }

    /// The public JWK members: RSA `n`/`e` or EC `crv`/`x`/`y`.
    func jwk(kid: String?, extra: String = "") -> String {
        var members: [String] = []
        if EVP_PKEY_is_a(pkey, "RSA") == 1 {
            members = [#""kty": "RSA""#, #""n": "\#(b64(bnParam("n")))""#, #""e": "\#(b64(bnParam("e")))""#]
        } else {
            var point = [UInt8](repeating: 0, count: 200)
            var length = 0
            precondition(EVP_PKEY_get_octet_string_param(pkey, "pub", &point, point.count, &length) == 1)
            let size = (length - 1) / 2
            let crv = size == 32 ? "P-256" : "P-384"
            members = [#""kty": "EC""#, #""crv": "\#(crv)""#,
                       #""x": "\#(b64(Array(point[1...size])))""#, #""y": "\#(b64(Array(point[(size + 1)..<length])))""#]
        }
        if let kid { members.append(#""kid": "\#(kid)""#) }
        if !extra.isEmpty { members.append(extra) }
        return "{" + members.joined(separator: ", ") + "}"
    }

    /// A JWS signature: PKCS#1 v1.5 for RSA, raw r||s for EC (or the DER OpenSSL makes, for attacks).
    func sign(_ input: [UInt8], alg: String, der: Bool = false) -> [UInt8] {
        let md = JWTAlgorithm(rawValue: alg)!.digest
        let ctx = EVP_MD_CTX_new()!
        defer { EVP_MD_CTX_free(ctx) }
        precondition(EVP_DigestSignInit(ctx, nil, md, nil, pkey) == 1)
        var length = 0
        precondition(EVP_DigestSign(ctx, nil, &length, input, input.count) == 1)
        var signature = [UInt8](repeating: 0, count: length)
        precondition(EVP_DigestSign(ctx, &signature, &length, input, input.count) == 1)
        signature = Array(signature.prefix(length))
        guard EVP_PKEY_is_a(pkey, "EC") == 1, !der else { return signature }
        let size = alg == "ES384" ? 48 : 32
        let sig = signature.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)!
        }
        defer { ECDSA_SIG_free(sig) }
        var raw = [UInt8](repeating: 0, count: 2 * size)
        raw.withUnsafeMutableBufferPointer { out in
            _ = BN_bn2binpad(ECDSA_SIG_get0_r(sig), out.baseAddress, Int32(size))
            _ = BN_bn2binpad(ECDSA_SIG_get0_s(sig), out.baseAddress! + size, Int32(size))
        }
        return raw
    }

    private func bnParam(_ name: String) -> [UInt8] {
        var bn: OpaquePointer?
        precondition(EVP_PKEY_get_bn_param(pkey, name, &bn) == 1)
        defer { BN_free(bn) }
        var bytes = [UInt8](repeating: 0, count: Int((BN_num_bits(bn) + 7) / 8))
        BN_bn2bin(bn, &bytes)
        return bytes
    }

    private func pem(_ write: (OpaquePointer) -> Int32) -> String {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(write(bio) == 1)
        var data: UnsafeMutablePointer<CChar>?
        let length = rampart_bio_get_mem_data(bio, &data)
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}

func b64(_ bytes: [UInt8]) -> String { Base64URL.encode(bytes) }
func b64(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

/// Shared keys (generated once per test run), files and token builders for the JWT tests.
enum JWTFixture {
    static let rsa = JWTTestKey.rsa()
    static let ec = JWTTestKey.ec()
    static let otherRSA = JWTTestKey.rsa()
    static let secret = "test-hmac-secret-0123456789abcdef"
    static let env = ["JWT_SECRET": secret]
    static let now: Double = 1_700_000_000
    static let claims = #"{"sub": "user-1", "iss": "https://auth.example.com", "aud": "app", "exp": 1700000600, "iat": 1700000000}"#

    static func hmac(_ input: [UInt8], alg: String = "HS256", key: [UInt8] = Array(secret.utf8)) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        precondition(HMAC(JWTAlgorithm(rawValue: alg)!.digest, key, Int32(key.count), input, input.count, &out, &length) != nil)
        return Array(out.prefix(Int(length)))
    }

    /// A compact JWS over literal header/payload JSON, signed by `sign` (nil: empty signature).
    static func token(header: String, claims: String = claims, sign: (([UInt8]) -> [UInt8])?) -> String {
        let input = b64(header) + "." + b64(claims)
        return input + "." + (sign.map { b64($0(Array(input.utf8))) } ?? "")
    }

    static func rs256(_ claims: String = claims, kid: String? = nil, key: JWTTestKey = rsa, alg: String = "RS256") -> String {
        token(header: header(alg, kid: kid), claims: claims) { key.sign($0, alg: alg) }
    }

    static func es256(_ claims: String = claims, kid: String? = nil, key: JWTTestKey = ec, alg: String = "ES256") -> String {
        token(header: header(alg, kid: kid), claims: claims) { key.sign($0, alg: alg) }
    }

    static func hs256(_ claims: String = claims, alg: String = "HS256", key: [UInt8] = Array(secret.utf8)) -> String {
        token(header: header(alg, kid: nil), claims: claims) { hmac($0, alg: alg, key: key) }
    }

    static func header(_ alg: String, kid: String?) -> String {
        kid.map { #"{"alg": "\#(alg)", "typ": "JWT", "kid": "\#($0)"}"# } ?? #"{"alg": "\#(alg)", "typ": "JWT"}"#
    }

    /// Writes `text` to a fresh file in a per-process temp directory and returns its path.
    static func file(_ text: String, name: String = "keys") -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-jwt-tests-\(getpid())")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try! Data(text.utf8).write(to: url)
        return url.path
    }

    static let pemFile = file(rsa.publicPEM + ec.publicPEM, name: "jwt.pem")
    static let jwksFile = file(#"{"keys": [\#(rsa.jwk(kid: "rsa-1")), \#(ec.jwk(kid: "ec-1"))]}"#, name: "jwks.json")

    /// The SPEC §3 example config: PEM + JWKS + HMAC, issuer and audience set.
    static func config(_ edit: (inout JWTConfig) -> Void = { _ in }) -> JWTConfig {
        var config = JWTConfig()
        config.publicKeysFile = pemFile
        config.jwksFile = jwksFile
        config.hmacSecretEnv = "JWT_SECRET"
        config.issuer = "https://auth.example.com"
        config.audience = "app"
        edit(&config)
        return config
    }

    static func verifier(_ edit: (inout JWTConfig) -> Void = { _ in }) throws -> JWTVerifier {
        try JWTVerifier(config: config(edit), environment: env)
    }

    /// The failure reason, or nil when the token verified.
    static func reason(_ verifier: JWTVerifier, _ token: String, now: Double = now) -> JWTError.Reason? {
        if case .failure(let error) = verifier.verify(token, now: now) { return error.reason }
        return nil
    }
}
