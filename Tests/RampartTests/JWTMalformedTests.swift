import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Structure and encoding: refused before any key is touched.
@Suite struct JWTMalformedTests {
    typealias F = JWTFixture

    @Test func wrongNumberOfParts() throws {
        let verifier = try F.verifier()
        let parts = F.hs256().split(separator: ".").map(String.init)
        #expect(F.reason(verifier, "") == .malformed)
        #expect(F.reason(verifier, parts[0]) == .malformed)
        #expect(F.reason(verifier, parts[0] + "." + parts[1]) == .malformed)
        #expect(F.reason(verifier, parts.joined(separator: ".") + "." + parts[2]) == .malformed)
    }

    @Test func badBase64IsRejected() throws {
        let verifier = try F.verifier()
        let token = F.hs256()
        let parts = token.split(separator: ".").map(String.init)
        #expect(F.reason(verifier, "e!J." + parts[1] + "." + parts[2]) == .malformed)
        #expect(F.reason(verifier, parts[0] + ".a b." + parts[2]) == .malformed)
        #expect(F.reason(verifier, parts[0] + "." + parts[1] + "." + parts[2] + "=") == .malformed)
        // Standard base64 characters are not base64url.
        let standard = parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if standard != parts[2] { #expect(F.reason(verifier, parts[0] + "." + parts[1] + "." + standard) == .malformed) }
    }

    @Test func nonJSONHeaderIsRejected() throws {
        let verifier = try F.verifier()
        #expect(F.reason(verifier, F.token(header: "not json") { F.hmac($0) }) == .malformed)
        #expect(F.reason(verifier, F.token(header: #"["HS256"]"#) { F.hmac($0) }) == .malformed)
        #expect(F.reason(verifier, F.token(header: #"{"typ": "JWT"}"#) { F.hmac($0) }) == .malformed)
        #expect(F.reason(verifier, F.token(header: #"{"alg": 256}"#) { F.hmac($0) }) == .malformed)
    }

    @Test func nonJSONPayloadIsRejectedAfterTheSignature() throws {
        let verifier = try F.verifier()
        #expect(F.reason(verifier, F.hs256("not json")) == .malformed)
        #expect(F.reason(verifier, F.hs256(#""just a string""#)) == .malformed)
    }

    @Test func oversizedTokenIsRejected() throws {
        let big = #"{"sub": "user-1", "pad": "\#(String(repeating: "x", count: 20_000))"}"#
        #expect(F.reason(try F.verifier(), F.hs256(big)) == .malformed)
    }

    @Test func base64URLIsStrict() {
        #expect(Base64URL.decode(Array("aGk".utf8)) == Array("hi".utf8))
        #expect(Base64URL.decode(Array("aGk=".utf8)) == nil)          // padding
        #expect(Base64URL.decode(Array("aGl".utf8)) == nil)           // non-zero trailing bits
        #expect(Base64URL.decode(Array("a".utf8)) == nil)             // impossible length
        #expect(Base64URL.decode(Array("a+/b".utf8)) == nil)          // standard alphabet
        for n in 0..<8 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 97 + 250) }
            #expect(Base64URL.decode(Array(Base64URL.encode(bytes).utf8)) == bytes)
        }
    }
}
