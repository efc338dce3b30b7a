import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Tokens that must verify, for every algorithm and key source.
@Suite struct JWTVerifierTests {
    typealias F = JWTFixture

    @Test func rs256FromPEMIsAccepted() throws {
        let result = try F.verifier().verify(F.rs256(), now: F.now)
        let identity = try result.get()
        #expect(identity.user == "user-1")
        #expect(identity.claims["iss"] == .string("https://auth.example.com"))
    }

    @Test func es256FromPEMIsAccepted() throws {
        #expect(try F.verifier().verify(F.es256(), now: F.now).get().user == "user-1")
    }

    @Test func hs256WithEnvSecretIsAccepted() throws {
        #expect(try F.verifier().verify(F.hs256(), now: F.now).get().user == "user-1")
    }

    @Test func jwksKeysAreSelectedByKid() throws {
        let verifier = try F.verifier { $0.publicKeysFile = nil }
        #expect(try verifier.verify(F.rs256(kid: "rsa-1"), now: F.now).get().user == "user-1")
        #expect(try verifier.verify(F.es256(kid: "ec-1"), now: F.now).get().user == "user-1")
    }

    @Test func tokenWithoutKidTriesJWKSKeysOfTheRightType() throws {
        let verifier = try F.verifier { $0.publicKeysFile = nil }
        #expect(F.reason(verifier, F.rs256()) == nil)
        #expect(F.reason(verifier, F.es256()) == nil)
    }

    @Test func kidNotInJWKSFallsBackToKeylessPEMKeys() throws {
        // IdPs always send a kid; a PEM-only deploy must still verify their tokens.
        let verifier = try F.verifier { $0.jwksFile = nil }
        #expect(F.reason(verifier, F.rs256(kid: "rotated-7")) == nil)
    }

    @Test func certificatePEMIsAccepted() throws {
        let file = F.file(F.rsa.certificatePEM + F.ec.certificatePEM, name: "certs.pem")
        let verifier = try F.verifier { $0.publicKeysFile = file; $0.jwksFile = nil; $0.hmacSecretEnv = nil }
        #expect(F.reason(verifier, F.rs256()) == nil)
        #expect(F.reason(verifier, F.es256()) == nil)
    }

    @Test func pkcs1RSAPublicKeyPEMIsAccepted() throws {
        let pem = F.rsa.pkcs1PEM
        #expect(pem.hasPrefix("-----BEGIN RSA PUBLIC KEY-----"))
        let verifier = try F.verifier { $0.publicKeysFile = F.file(pem); $0.jwksFile = nil; $0.hmacSecretEnv = nil }
        #expect(F.reason(verifier, F.rs256()) == nil)
    }

    @Test(arguments: ["RS256", "RS384", "RS512"])
    func rsaAlgorithms(alg: String) throws {
        let verifier = try F.verifier { $0.algorithms = [alg] }
        #expect(F.reason(verifier, F.rs256(alg: alg)) == nil)
    }

    @Test(arguments: ["HS256", "HS384", "HS512"])
    func hmacAlgorithms(alg: String) throws {
        let verifier = try F.verifier { $0.algorithms = [alg] }
        #expect(F.reason(verifier, F.hs256(alg: alg)) == nil)
    }

    @Test func es384WithP384Key() throws {
        let key = JWTTestKey.ec("P-384")
        let jwks = F.file(#"{"keys": [\#(key.jwk(kid: "p384")), \#(F.ec.jwk(kid: "p256"))]}"#)
        let verifier = try F.verifier { $0.algorithms = ["ES256", "ES384"]; $0.jwksFile = jwks; $0.publicKeysFile = nil }
        #expect(F.reason(verifier, F.es256(kid: "p384", key: key, alg: "ES384")) == nil)
        #expect(F.reason(verifier, F.es256(key: key, alg: "ES384")) == nil)
        // The curve is bound to the algorithm: a P-256 key cannot verify ES384, nor P-384 ES256.
        #expect(F.reason(verifier, F.es256(kid: "p256", alg: "ES384")) == .unknownKey)
        #expect(F.reason(verifier, F.es256(kid: "p384", key: key, alg: "ES256")) == .unknownKey)
    }

    @Test func userClaimMayBeAnIntegerOrAnotherClaim() throws {
        let numeric = #"{"uid": 42, "email": "a@b.c", "iss": "https://auth.example.com", "aud": "app"}"#
        #expect(try F.verifier { $0.userClaim = "uid" }.verify(F.hs256(numeric), now: F.now).get().user == "42")
        #expect(try F.verifier { $0.userClaim = "email" }.verify(F.hs256(numeric), now: F.now).get().user == "a@b.c")
    }

    @Test func missingOrUnusableUserClaim() throws {
        let verifier = try F.verifier()
        for claims in [#"{"iss": "https://auth.example.com", "aud": "app"}"#,
                       #"{"sub": "", "iss": "https://auth.example.com", "aud": "app"}"#,
                       #"{"sub": 1.5, "iss": "https://auth.example.com", "aud": "app"}"#,
                       #"{"sub": ["u"], "iss": "https://auth.example.com", "aud": "app"}"#,
                       #"{"sub": "a\nb", "iss": "https://auth.example.com", "aud": "app"}"#] {
            #expect(F.reason(verifier, F.hs256(claims)) == .missingUserClaim, "\(claims)")
        }
    }

    @Test func concurrentVerificationSharesOneVerifier() async throws {
        let verifier = try F.verifier()
        let tokens = [F.rs256(), F.es256(), F.hs256(), F.rs256(kid: "rsa-1")]
        let failures = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    (0..<100).reduce(0) { count, i in
                        count + (F.reason(verifier, tokens[(task + i) % tokens.count]) == nil ? 0 : 1)
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
