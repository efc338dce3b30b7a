import RampartHTTP
import RampartLoop
import RampartTransport
import COpenSSL

/// Verifies compact-JWS JWTs against the keys configured in `identity.jwt` (SPEC §5).
/// Immutable after init and safe to share across event loops: keys are read-only EVP_PKEYs and
/// every verification builds its own OpenSSL context.
public final class JWTVerifier: Sendable {
    public let config: JWTConfig
    let keys: [JWTKey]
    package let algorithms: Set<JWTAlgorithm>
    let leewaySeconds: Double

    /// Tokens longer than this are refused before any decoding; real ones are a few KB at most.
    static let maxTokenBytes = 16 * 1024
    /// Tokens that verified, so a client's next requests skip the decoding and the signature.
    let verified = VerifiedTokenCache()

    /// Loads keys once: PEM file (RSA/EC public keys and certificates), JWKS file (RSA n/e and
    /// EC x/y keys with kid), HMAC secret from the env var named by hmac_secret_env.
    public init(config: JWTConfig, environment: [String: String]) throws(JWTSetupError) {
        var keys: [JWTKey] = []
        if let file = config.publicKeysFile { keys += try JWTPEMKeys.load(file: file) }
        if let file = config.jwksFile { keys += try JWKSKeys.load(file: file) }
        if let name = config.hmacSecretEnv {
            guard let secret = environment[name], !secret.isEmpty else {
                throw JWTSetupError("identity.jwt.hmac_secret_env: environment variable \(name) is not set")
            }
            keys.append(JWTKey(material: .hmac(JWTHMACSecret(Array(secret.utf8))), kid: nil, alg: nil))
        }
        guard !keys.isEmpty else {
            throw JWTSetupError("identity.jwt needs a key source: public_keys_file, jwks_file or hmac_secret_env")
        }
        var algorithms = Set<JWTAlgorithm>()
        for name in config.algorithms {
            guard let alg = JWTAlgorithm(rawValue: name) else { throw JWTSetupError("identity.jwt.algorithms: \(name.jwtQuoted) is not supported") }
            algorithms.insert(alg)
        }
        guard !algorithms.isEmpty else { throw JWTSetupError("identity.jwt.algorithms must list at least one algorithm") }
        guard algorithms.contains(where: { alg in keys.contains { $0.accepts(alg) } }) else {
            let families = Set(keys.map(\.family.rawValue)).sorted().joined(separator: ", ")
            throw JWTSetupError("identity.jwt: none of the algorithms \(config.algorithms) can use the configured keys (\(families))")
        }
        self.config = config
        self.keys = keys
        self.algorithms = algorithms
        let leeway = config.leeway.components
        self.leewaySeconds = Double(leeway.seconds) + Double(leeway.attoseconds) / 1e18
    }

    /// Verifies compact JWS; `now` is unix seconds (injected so tests control time).
    /// Order: structure, header, algorithm, signature, then claims — nothing in the payload is
    /// trusted or even parsed before the signature holds.
    /// A token that verified before (`verified`) gets the same verdict again, time window
    /// re-checked: same text, same keys, same rules.
    public func verify(_ token: String, now: Double) -> Result<VerifiedIdentity, JWTError> {
        if let hit = verified.lookup(token) {
            do throws(JWTError) {
                try hit.window.check(now: now, leeway: leewaySeconds)
                return .success(hit.identity)
            } catch {
                if error.reason == .expired { verified.remove(token) }   // for good: free the slot
                return .failure(error)
            }
        }
        do throws(JWTError) {
            let parts = try JWTCompact(token, maxBytes: Self.maxTokenBytes)
            let header = try parts.header()
            let alg = try algorithm(header)
            try verifySignature(parts, alg: alg, kid: try kid(header))
            let claims = try parts.payload()
            let window = try JWTClaimsCheck(config: config, leeway: leewaySeconds, now: now).check(claims)
            let identity = VerifiedIdentity(user: try JWTClaimsCheck.user(claims, claim: config.userClaim), claims: claims)
            verified.insert(token, .init(identity: identity, window: window))
            return .success(identity)
        } catch {
            return .failure(error)
        }
    }

    private func algorithm(_ header: JSONValue) throws(JWTError) -> JWTAlgorithm {
        guard case .string(let name)? = header["alg"] else { throw JWTError(.malformed, "header has no \"alg\" string") }
        guard let alg = JWTAlgorithm(rawValue: name) else { throw JWTError(.unsupportedAlgorithm, "alg \(name.jwtQuoted) is not supported") }
        guard algorithms.contains(alg) else { throw JWTError(.unsupportedAlgorithm, "alg \(name) is not in identity.jwt.algorithms") }
        return alg
    }

    private func kid(_ header: JSONValue) throws(JWTError) -> String? {
        switch header["kid"] {
        case nil: return nil
        case .string(let kid)?: return kid
        default: throw JWTError(.malformed, "header \"kid\" is not a string")
        }
    }

    /// Candidate keys: without a kid, every key of the algorithm's type; with one, the JWKS keys
    /// of that kid, or when none has it the kid-less keys (PEM, HMAC secret), since IdPs send a
    /// kid even when the operator configured a bare PEM. A kid never reaches a key of another type.
    private func verifySignature(_ parts: JWTCompact, alg: JWTAlgorithm, kid: String?) throws(JWTError) {
        var byKid: [JWTKey] = keys
        if let kid {
            byKid = keys.filter { $0.kid == kid }
            if byKid.isEmpty { byKid = keys.filter { $0.kid == nil } }
        }
        let candidates = byKid.filter { $0.accepts(alg) }
        guard !candidates.isEmpty else {
            if let kid, !keys.contains(where: { $0.kid == kid }) {
                throw JWTError(.unknownKey, "no key with kid \(kid.jwtQuoted) for \(alg.rawValue)")
            }
            throw JWTError(.unknownKey, "no \(alg.family.rawValue) key configured for \(alg.rawValue)" + (kid.map { " with kid \($0.jwtQuoted)" } ?? ""))
        }
        let signature = parts.signature
        guard !signature.isEmpty else { throw JWTError(.badSignature, "token is unsigned") }
        for key in candidates where key.verify(signature, over: parts.signingInput, with: alg) { return }
        throw JWTError(.badSignature, "\(alg.rawValue) signature does not verify")
    }
}
