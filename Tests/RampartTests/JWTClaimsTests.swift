import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Time window (with leeway), issuer and audience.
@Suite struct JWTClaimsTests {
    typealias F = JWTFixture

    static func claims(_ extra: String) -> String {
        #"{"sub": "user-1", "iss": "https://auth.example.com", "aud": "app"\#(extra.isEmpty ? "" : ", " + extra)}"#
    }

    @Test func expiryHonoursLeeway() throws {
        let verifier = try F.verifier()   // default leeway 30 s
        let exp = Int(F.now)
        #expect(F.reason(verifier, F.rs256(Self.claims(#""exp": \#(exp - 10)"#))) == nil)
        #expect(F.reason(verifier, F.rs256(Self.claims(#""exp": \#(exp - 30)"#))) == .expired)
        #expect(F.reason(verifier, F.rs256(Self.claims(#""exp": \#(exp - 3600)"#))) == .expired)
        let strict = try F.verifier { $0.leeway = .zero }
        #expect(F.reason(strict, F.hs256(Self.claims(#""exp": \#(exp)"#))) == .expired)
        #expect(F.reason(strict, F.hs256(Self.claims(#""exp": \#(exp + 1)"#))) == nil)
    }

    @Test func notBeforeHonoursLeeway() throws {
        let verifier = try F.verifier()
        let now = Int(F.now)
        #expect(F.reason(verifier, F.es256(Self.claims(#""nbf": \#(now + 20)"#))) == nil)
        #expect(F.reason(verifier, F.es256(Self.claims(#""nbf": \#(now + 31)"#))) == .notYetValid)
        #expect(F.reason(verifier, F.es256(Self.claims(#""nbf": \#(now + 3600)"#))) == .notYetValid)
    }

    @Test func nonNumericTimesAreMalformed() throws {
        #expect(F.reason(try F.verifier(), F.hs256(Self.claims(#""exp": "tomorrow""#))) == .malformed)
        #expect(F.reason(try F.verifier(), F.hs256(Self.claims(#""nbf": null"#))) == .malformed)
    }

    @Test func issuerMustMatchWhenConfigured() throws {
        let verifier = try F.verifier()
        #expect(F.reason(verifier, F.hs256(#"{"sub": "u", "iss": "https://evil.example.com", "aud": "app"}"#)) == .wrongIssuer)
        #expect(F.reason(verifier, F.hs256(#"{"sub": "u", "aud": "app"}"#)) == .wrongIssuer)
        #expect(F.reason(try F.verifier { $0.issuer = nil }, F.hs256(#"{"sub": "u", "aud": "app"}"#)) == nil)
    }

    @Test func audienceMayBeAStringOrAnArray() throws {
        let verifier = try F.verifier()
        let iss = #""iss": "https://auth.example.com""#
        #expect(F.reason(verifier, F.hs256(#"{"sub": "u", \#(iss), "aud": ["other", "app"]}"#)) == nil)
        #expect(F.reason(verifier, F.hs256(#"{"sub": "u", \#(iss), "aud": ["other", "apps"]}"#)) == .wrongAudience)
        #expect(F.reason(verifier, F.hs256(#"{"sub": "u", \#(iss), "aud": "other"}"#)) == .wrongAudience)
        #expect(F.reason(verifier, F.hs256(#"{"sub": "u", \#(iss)}"#)) == .wrongAudience)
        #expect(F.reason(verifier, F.hs256(#"{"sub": "u", \#(iss), "aud": 7}"#)) == .wrongAudience)
        #expect(F.reason(try F.verifier { $0.audience = nil }, F.hs256(#"{"sub": "u", \#(iss)}"#)) == nil)
    }

    @Test func signatureIsCheckedBeforeClaims() throws {
        // An expired token from an untrusted key reports the signature, not the expiry.
        #expect(F.reason(try F.verifier(), F.rs256(Self.claims(#""exp": 1"#), key: F.otherRSA)) == .badSignature)
    }
}
