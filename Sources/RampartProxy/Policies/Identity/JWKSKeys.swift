import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation

/// Public keys from a JWKS file (RFC 7517): RSA `n`/`e` and EC `x`/`y` keys. Keys for other uses
/// (`use: "enc"`) or of other types (`oct`, `OKP`) are skipped, as an IdP's JWKS may list them;
/// a malformed RSA/EC key is an error so a typo never silently drops the only key.
enum JWKSKeys {
    package static func load(file: String) throws(JWTSetupError) -> [JWTKey] {
        let origin = "identity.jwt.jwks_file \(file.jwtQuoted)"
        guard let data = FileManager.default.contents(atPath: file) else { throw JWTSetupError("\(origin) cannot be read") }
        let document: JSONValue
        do { document = try JSONValue.parse(Array(data)) } catch { throw JWTSetupError("\(origin) is not valid JSON: \(error)") }
        guard case .array(let entries)? = document["keys"] else { throw JWTSetupError("\(origin) needs a \"keys\" array") }
        var keys: [JWTKey] = []
        for (index, entry) in entries.enumerated() {
            let kid = entry["kid"].flatMap(\.jwkString)
            let keyOrigin = "\(origin) key \(kid?.jwtQuoted ?? "#\(index + 1)")"
            if let key = try decode(entry, kid: kid, origin: keyOrigin) { keys.append(key) }
        }
        guard !keys.isEmpty else { throw JWTSetupError("\(origin) holds no usable RSA or EC signing key") }
        return keys
    }

    private static func decode(_ jwk: JSONValue, kid: String?, origin: String) throws(JWTSetupError) -> JWTKey? {
        guard case .object = jwk else { throw JWTSetupError("\(origin) is not an object") }
        if let use = jwk["use"]?.jwkString, use != "sig" { return nil }
        var alg: JWTAlgorithm?
        if let name = jwk["alg"]?.jwkString {
            guard let known = JWTAlgorithm(rawValue: name) else { return nil }   // e.g. PS256, RSA-OAEP
            alg = known
        }
        switch jwk["kty"]?.jwkString {
        case "RSA":
            let n = try bytes(jwk, "n", origin: origin)
            let e = try bytes(jwk, "e", origin: origin)
            if let alg, alg.family != .rsa { throw JWTSetupError("\(origin): alg \(alg.rawValue) does not fit an RSA key") }
            return try JWTKey.typed(JWTKeyBuilder.rsa(n: n, e: e, origin: origin), kid: kid, alg: alg, origin: origin)
        case "EC":
            let crv = jwk["crv"]?.jwkString
            let curves: [(name: StaticString, size: Int)] = [("P-256", 32), ("P-384", 48)]
            guard let curve = curves.first(where: { "\($0.name)" == crv }) else { return nil }
            let x = try bytes(jwk, "x", origin: origin)
            let y = try bytes(jwk, "y", origin: origin)
            guard x.count == curve.size, y.count == curve.size else {
                throw JWTSetupError("\(origin): \(curve.name) coordinates must be \(curve.size) bytes each")
            }
            if let alg, alg.family != .ec { throw JWTSetupError("\(origin): alg \(alg.rawValue) does not fit an EC key") }
            let pkey = try JWTKeyBuilder.ec(group: curve.name, point: [0x04] + x + y, origin: origin)
            return try JWTKey.typed(pkey, kid: kid, alg: alg, origin: origin)
        case nil:
            throw JWTSetupError("\(origin) has no \"kty\"")
        default:
            return nil
        }
    }

    private static func bytes(_ jwk: JSONValue, _ member: String, origin: String) throws(JWTSetupError) -> [UInt8] {
        guard let text = jwk[member]?.jwkString, let value = Base64URL.decode(Array(text.utf8)), !value.isEmpty else {
            throw JWTSetupError("\(origin): \"\(member)\" must be a non-empty base64url string")
        }
        return value
    }
}

extension JSONValue {
    fileprivate var jwkString: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
