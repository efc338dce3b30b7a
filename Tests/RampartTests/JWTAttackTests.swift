import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Forged, altered and confused tokens: every one must be refused with the right reason.
@Suite struct JWTAttackTests {
    typealias F = JWTFixture

    @Test func algNoneIsAlwaysRejected() throws {
        let verifier = try F.verifier()
        for alg in ["none", "None", "NONE"] {
            let unsigned = F.token(header: #"{"alg": "\#(alg)"}"#, sign: nil)
            let signed = F.token(header: #"{"alg": "\#(alg)"}"#) { F.hmac($0) }
            #expect(F.reason(verifier, unsigned) == .unsupportedAlgorithm)
            #expect(F.reason(verifier, signed) == .unsupportedAlgorithm)
        }
    }

    @Test func hs256SignedWithTheRSAPublicKeyPEMIsRejected() throws {
        // The classic confusion attack: the public key's PEM text used as the HMAC secret.
        let forged = F.hs256(key: Array(F.rsa.publicPEM.utf8))
        #expect(F.reason(try F.verifier(), forged) == .badSignature)
        // With no HMAC secret configured there is no HMAC key at all, whatever PEM keys exist.
        #expect(F.reason(try F.verifier { $0.hmacSecretEnv = nil }, forged) == .unknownKey)
    }

    @Test func kidCannotSteerAnAlgorithmToAKeyOfAnotherType() throws {
        let verifier = try F.verifier()
        let forged = F.token(header: F.header("HS256", kid: "rsa-1")) { F.hmac($0, key: Array(F.rsa.publicPEM.utf8)) }
        #expect(F.reason(verifier, forged) == .unknownKey)
        #expect(F.reason(verifier, F.rs256(kid: "ec-1")) == .unknownKey)
    }

    @Test func tamperedPayloadIsRejected() throws {
        let verifier = try F.verifier()
        for token in [F.rs256(), F.es256(), F.hs256()] {
            let parts = token.split(separator: ".").map(String.init)
            let evil = b64(F.claims.replacingOccurrences(of: "user-1", with: "admin"))
            #expect(F.reason(verifier, [parts[0], evil, parts[2]].joined(separator: ".")) == .badSignature)
        }
    }

    @Test func tamperedSignatureIsRejected() throws {
        let verifier = try F.verifier()
        for token in [F.rs256(), F.es256(), F.hs256()] {
            var bytes = Base64URL.decode(Array(token.split(separator: ".")[2].utf8))!
            bytes[bytes.count / 2] ^= 0x01
            let tampered = token.split(separator: ".")[0...1].joined(separator: ".") + "." + b64(bytes)
            #expect(F.reason(verifier, tampered) == .badSignature)
            let truncated = token.split(separator: ".")[0...1].joined(separator: ".") + "." + b64(Array(bytes.dropLast()))
            #expect(F.reason(verifier, truncated) == .badSignature)
        }
    }

    @Test func signatureByAnUntrustedKeyIsRejected() throws {
        #expect(F.reason(try F.verifier(), F.rs256(key: F.otherRSA)) == .badSignature)
        #expect(F.reason(try F.verifier(), F.es256(key: JWTTestKey.ec())) == .badSignature)
    }

    @Test func embeddedJWKHeaderIsIgnored() throws {
        // The token brings its own key; only configured keys may ever verify.
        let header = #"{"alg": "RS256", "jwk": \#(F.otherRSA.jwk(kid: nil))}"#
        let forged = F.token(header: header) { F.otherRSA.sign($0, alg: "RS256") }
        #expect(F.reason(try F.verifier(), forged) == .badSignature)
    }

    @Test func ecdsaSignatureMustBeRawNotDER() throws {
        let der = F.token(header: F.header("ES256", kid: nil)) { F.ec.sign($0, alg: "ES256", der: true) }
        #expect(F.reason(try F.verifier(), der) == .badSignature)
    }

    @Test func unknownKidIsRejected() throws {
        let verifier = try F.verifier { $0.publicKeysFile = nil }
        #expect(F.reason(verifier, F.rs256(kid: "not-there")) == .unknownKey)
        #expect(F.reason(verifier, F.es256(kid: "not-there")) == .unknownKey)
    }

    @Test func algorithmOutsideConfigIsRejected() throws {
        let verifier = try F.verifier { $0.algorithms = ["RS256"] }
        #expect(F.reason(verifier, F.rs256()) == nil)
        #expect(F.reason(verifier, F.es256()) == .unsupportedAlgorithm)
        #expect(F.reason(verifier, F.hs256()) == .unsupportedAlgorithm)
        #expect(F.reason(verifier, F.rs256(alg: "RS512")) == .unsupportedAlgorithm)
        #expect(F.reason(verifier, F.token(header: #"{"alg": "PS256"}"#) { F.hmac($0) }) == .unsupportedAlgorithm)
    }

    @Test func criticalHeaderExtensionsAreRejected() throws {
        let token = F.token(header: #"{"alg": "HS256", "b64": false, "crit": ["b64"]}"#) { F.hmac($0) }
        #expect(F.reason(try F.verifier(), token) == .malformed)
    }

    @Test func duplicateMembersAreRejected() throws {
        let claims = #"{"sub": "user-1", "sub": "admin", "iss": "https://auth.example.com", "aud": "app"}"#
        #expect(F.reason(try F.verifier(), F.hs256(claims)) == .malformed)
        let header = F.token(header: #"{"alg": "HS256", "alg": "none"}"#) { F.hmac($0) }
        #expect(F.reason(try F.verifier(), header) == .malformed)
    }
}
