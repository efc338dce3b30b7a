import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Key loading: bad key sources fail at startup with a message naming the file or variable.
@Suite struct JWTKeySetupTests {
    typealias F = JWTFixture

    static func setupError(_ edit: (inout JWTConfig) -> Void, env: [String: String] = F.env) -> String? {
        do throws(JWTSetupError) {
            _ = try JWTVerifier(config: F.config(edit), environment: env)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func missingFilesAndVariablesAreNamed() {
        #expect(Self.setupError { $0.publicKeysFile = "/nonexistent/jwt.pem" }?.contains("/nonexistent/jwt.pem") == true)
        #expect(Self.setupError { $0.jwksFile = "/nonexistent/jwks.json" }?.contains("/nonexistent/jwks.json") == true)
        #expect(Self.setupError({ _ in }, env: [:])?.contains("JWT_SECRET") == true)
        #expect(Self.setupError { $0.publicKeysFile = nil; $0.jwksFile = nil; $0.hmacSecretEnv = nil } != nil)
    }

    @Test func privateKeyInPublicKeysFileIsRefused() {
        let file = F.file(F.rsa.privatePEM)
        #expect(Self.setupError { $0.publicKeysFile = file }?.contains("PRIVATE KEY") == true)
    }

    @Test func weakRSAKeyIsRefused() {
        let file = F.file(JWTTestKey.rsa(bits: 1024).publicPEM)
        #expect(Self.setupError { $0.publicKeysFile = file }?.contains("1024 bits") == true)
    }

    @Test func pemWithoutKeysIsRefused() {
        #expect(Self.setupError { $0.publicKeysFile = F.file("hello") } != nil)
        #expect(Self.setupError { $0.publicKeysFile = F.file("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") } != nil)
    }

    @Test func invalidJWKSIsRefused() {
        #expect(Self.setupError { $0.jwksFile = F.file("{") }?.contains("not valid JSON") == true)
        #expect(Self.setupError { $0.jwksFile = F.file(#"{"kys": []}"#) }?.contains("\"keys\"") == true)
        #expect(Self.setupError { $0.jwksFile = F.file(#"{"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB"}]}"#) }?.contains("\"e\"") == true)
        let offCurve = #"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "bad", "x": "\#(b64([UInt8](repeating: 1, count: 32)))", "y": "\#(b64([UInt8](repeating: 2, count: 32)))"}]}"#
        #expect(Self.setupError { $0.jwksFile = F.file(offCurve) } != nil)
    }

    @Test func jwksSkipsKeysItCannotUse() throws {
        let jwks = F.file(#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}, \#(F.otherRSA.jwk(kid: "enc", extra: #""use": "enc""#)), \#(F.rsa.jwk(kid: "sig", extra: #""use": "sig", "alg": "RS256""#))]}"#)
        let verifier = try F.verifier { $0.jwksFile = jwks; $0.publicKeysFile = nil; $0.hmacSecretEnv = nil }
        #expect(verifier.keys.count == 1)
        #expect(F.reason(verifier, F.rs256(kid: "sig")) == nil)
        #expect(F.reason(verifier, F.rs256(kid: "enc", key: F.otherRSA)) == .unknownKey)
        // The JWK's own "alg" pins it: RS512 is refused even though RS512 is configured.
        let pinned = try F.verifier { $0.jwksFile = jwks; $0.publicKeysFile = nil; $0.algorithms = ["RS256", "RS512"] }
        #expect(F.reason(pinned, F.rs256(kid: "sig", alg: "RS512")) == .unknownKey)
    }

    @Test func verifierBuildsFromALoadedConfig() throws {
        let json = #"""
        {"upstreams": {"app": {"url": "http://127.0.0.1:3000"}},
         "identity": {"jwt": {"public_keys_file": "\#(F.pemFile)", "jwks_file": "\#(F.jwksFile)",
                              "hmac_secret_env": "JWT_SECRET", "issuer": "https://auth.example.com",
                              "audience": "app", "leeway": "5s", "algorithms": ["ES256"]}}}
        """#
        let config = try ConfigLoader.parse(json: json, environment: F.env)
        let verifier = try JWTVerifier(config: try #require(config.identity.jwt), environment: F.env)
        #expect(F.reason(verifier, F.es256()) == nil)
        #expect(F.reason(verifier, F.rs256()) == .unsupportedAlgorithm)
        #expect(F.reason(verifier, F.es256(#"{"sub": "u", "iss": "https://auth.example.com", "aud": "app", "exp": 1699999994}"#)) == .expired)
    }
}
