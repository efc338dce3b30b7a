import RampartHTTP
import COpenSSL
import Foundation

// libFuzzer target for JWT verification (identity.jwt): the compact form, the JOSE header, the
// claims and the key choice (JWTVerifier with every algorithm enabled, an RSA and an EC public key
// made at start whose private halves are thrown away, and an HMAC secret), and the reader that
// takes the token from `Authorization: Bearer` or a cookie. The first byte picks the mode:
//  0: the rest is a token as a client sends it;
//  1: the rest is header JSON, NUL, claims JSON: the target signs it with the HMAC secret (with the
//     header's HS algorithm, else HS256), so the claims checks are reached with valid signatures;
//  2: the rest is an Authorization value, NUL, a Cookie header, NUL, a cookie name.
// Invariants:
//  - no crash on any token (strict base64url, JSON parts, ECDSA signature conversion, OpenSSL);
//  - a token that splits into its parts is the only encoding of them (re-encoding gives it back);
//  - a token that verifies has parsed claims: the header is a JSON object naming an HS algorithm
//    (nobody holds the RSA and EC private keys), without "crit", whose MAC (computed here with
//    OpenSSL's HMAC, not Rampart's) is the signature; the claims returned are the payload parsed,
//    within exp/nbf (30 s leeway), from the configured issuer, for the configured audience, and the
//    user is the `sub` claim;
//  - a token signed with the secret is never refused for its signature or key, and changing any
//    one character of it makes it fail;
//  - a token read from the headers is non-empty, has no space, and is a part of what was sent.

let secret = Array("test-hmac-secret-0123456789abcdef".utf8)
let now = 1_700_000_000.0
let issuer = "https://auth.example.com"
let audience = "app"
let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

func generate(_ type: String, _ configure: (OpaquePointer) -> Int32) -> OpaquePointer {
    let ctx = EVP_PKEY_CTX_new_from_name(nil, type, nil)!
    defer { EVP_PKEY_CTX_free(ctx) }
    var pkey: OpaquePointer?
    precondition(EVP_PKEY_keygen_init(ctx) == 1 && configure(ctx) == 1 && EVP_PKEY_generate(ctx, &pkey) == 1)
    return pkey!
}

func publicPEM(_ pkey: OpaquePointer) -> String {
    let bio = BIO_new(BIO_s_mem())!
    defer { BIO_free(bio); EVP_PKEY_free(pkey) }
    precondition(PEM_write_bio_PUBKEY(bio, pkey) == 1)
    var data: UnsafeMutablePointer<CChar>?
    let length = rampart_bio_get_mem_data(bio, &data)
    return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
}

func makeVerifier() -> JWTVerifier {
    let pem = publicPEM(generate("RSA") { EVP_PKEY_CTX_set_rsa_keygen_bits($0, 2048) })
        + publicPEM(generate("EC") { EVP_PKEY_CTX_set_group_name($0, "P-256") })
    let path = NSTemporaryDirectory() + "rampart-fuzz-jwt-\(getpid()).pem"
    precondition(FileManager.default.createFile(atPath: path, contents: Data(pem.utf8)))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let config = JWTConfig(algorithms: JWTAlgorithm.allCases.map(\.rawValue), publicKeysFile: path,
                           hmacSecretEnv: "FUZZ_JWT_SECRET", issuer: issuer, audience: audience)
    return try! JWTVerifier(config: config, environment: ["FUZZ_JWT_SECRET": String(decoding: secret, as: UTF8.self)])
}

let verifier = makeVerifier()

/// The verifier lives as long as the process; its keys sit in an enum payload whose pointer carries
/// Swift's case bits, which LeakSanitizer does not recognise as a reference. Allocations made while
/// building it are not leaks (any made while verifying a token still are).
@_cdecl("__lsan_default_suppressions")
public func leakSuppressions() -> UnsafePointer<CChar> {
    UnsafeRawPointer(("leak:makeVerifier\n" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
}

func mac(_ alg: JWTAlgorithm, _ input: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 64)
    var length: UInt32 = 0
    precondition(HMAC(alg.digest, secret, Int32(secret.count), input, input.count, &out, &length) != nil)
    return Array(out.prefix(Int(length)))
}

/// What a verified token must be, checked from its text without Rampart's verifier.
func checkVerified(_ token: String, _ identity: VerifiedIdentity) {
    let context = "\(show(token.utf8)) verified as \(identity.user)"
    let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init)
    require(parts.count == 3, "verified token without three parts: \(context)")
    guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
          let signature = Base64URL.decode(parts[2]),
          case .object? = try? JSONValue.parse(headerBytes), let header = try? JSONValue.parse(headerBytes),
          case .object? = try? JSONValue.parse(payloadBytes), let claims = try? JSONValue.parse(payloadBytes) else {
        fatalError("invariant violated: verified token whose parts are not base64url JSON objects: \(context)")
    }
    guard case .string(let name)? = header["alg"], let alg = JWTAlgorithm(rawValue: name), name.hasPrefix("HS") else {
        fatalError("invariant violated: verified without an HS alg (no private key exists for the others): \(context)")
    }
    require(header["crit"] == nil, "verified with crit: \(context)")
    if let kid = header["kid"], case .string = kid {} else if header["kid"] != nil { fatalError("invariant violated: kid not a string: \(context)") }
    require(mac(alg, Array(parts[0] + [UInt8(ascii: ".")] + parts[1])) == signature, "signature is not the MAC: \(context)")
    require(identity.claims == claims, "claims \(identity.claims) are not the payload \(claims): \(context)")
    if let exp = claims["exp"] {
        guard case .number(let t) = exp, now < t + 30 else { fatalError("invariant violated: exp \(exp): \(context)") }
    }
    if let nbf = claims["nbf"] {
        guard case .number(let t) = nbf, now + 30 >= t else { fatalError("invariant violated: nbf \(nbf): \(context)") }
    }
    require(claims["iss"] == .string(issuer), "issuer \(String(describing: claims["iss"])): \(context)")
    switch claims["aud"] {
    case .string(let a)?: require(a == audience, "audience \(a): \(context)")
    case .array(let list)?: require(list.contains(.string(audience)), "audience \(list): \(context)")
    default: fatalError("invariant violated: no audience: \(context)")
    }
    switch claims["sub"] {
    case .string(let s)?:
        require(s == identity.user && !s.isEmpty && !s.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
                "user \(identity.user) from sub \(s): \(context)")
    case .number(let n)?:
        require(n == n.rounded() && abs(n) <= 9_007_199_254_740_992 && identity.user == String(Int64(n)),
                "user \(identity.user) from sub \(n): \(context)")
    default:
        fatalError("invariant violated: no usable sub: \(context)")
    }
}

func checkToken(_ token: String) {
    if let parts = try? JWTCompact(token, maxBytes: 16 * 1024) {
        let again = Base64URL.encode(parts.headerBytes) + "." + Base64URL.encode(parts.payloadBytes) + "."
            + Base64URL.encode(parts.signature)
        require(Array(again.utf8) == Array(token.utf8), "a second encoding of the same parts: \(show(token.utf8)) vs \(again)")
    }
    if case .success(let identity) = verifier.verify(token, now: now) { checkVerified(token, identity) }
}

func checkSigned(header: [UInt8], claims: [UInt8], position: Int) {
    var alg = JWTAlgorithm.hs256
    if case .string(let name)? = (try? JSONValue.parse(header))?["alg"], let a = JWTAlgorithm(rawValue: name), name.hasPrefix("HS") {
        alg = a
    }
    let signing = Base64URL.encode(header) + "." + Base64URL.encode(claims)
    let token = signing + "." + Base64URL.encode(mac(alg, Array(signing.utf8)))
    switch verifier.verify(token, now: now) {
    case .success(let identity):
        checkVerified(token, identity)
    case .failure(let e):
        if case .string(let name)? = (try? JSONValue.parse(header))?["alg"], name.hasPrefix("HS"), JWTAlgorithm(rawValue: name) != nil {
            require(e.reason != .badSignature && e.reason != .unknownKey, "a correctly signed token refused: \(e): \(show(token.utf8))")
        }
    }
    // One character changed, anywhere: never valid.
    var bytes = Array(token.utf8)
    let k = position % bytes.count
    let i = alphabet.firstIndex(of: bytes[k]).map { ($0 + 1 + position / bytes.count % 63) % 64 } ?? position % 64
    bytes[k] = alphabet[i]
    let tampered = String(decoding: bytes, as: UTF8.self)
    if case .success = verifier.verify(tampered, now: now) {
        fatalError("invariant violated: a changed token verified: \(show(bytes)) from \(show(token.utf8))")
    }
}

func checkHeaders(_ rest: [UInt8]) {
    let fields = rest.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    let authorization = fields.first, cookie = fields.count > 1 ? fields[1] : nil, name = fields.count > 2 ? fields[2] : nil
    guard let token = JWTVerifier.token(fromAuthorization: authorization, cookieHeader: cookie, cookieName: name) else { return }
    require(!token.isEmpty, "empty token from \(show(rest))")
    if let authorization, let bearer = JWTVerifier.bearer(authorization) {
        require(token == bearer && !bearer.utf8.contains(0x20) && authorization.contains(bearer), "bearer \(bearer) from \(show(rest))")
    } else {
        require(cookie.map { $0.contains(token) } == true, "cookie token \(token) from \(show(rest))")
    }
    checkToken(token)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 3 {
    case 0:
        checkToken(String(decoding: rest, as: UTF8.self))
    case 1:
        let (header, claims) = splitAtNUL(rest)
        checkSigned(header: header, claims: claims ?? [], position: rest.reduce(size) { $0 &* 31 &+ Int($1) } & 0xFFFF)
    default:
        checkHeaders(rest)
    }
    return 0
}
