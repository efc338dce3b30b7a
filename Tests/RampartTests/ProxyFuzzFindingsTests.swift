import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Inputs the libFuzzer targets of the proxy's policies (Fuzz/, `make fuzz`) found, each kept here
/// with its exact bytes.
@Suite struct ProxyFuzzFindingsTests {
    typealias F = TruncationFixture

    /// truncation: a conversation over budget with no user turn at all was refused as "too large"
    /// with the newest message's count (1 token, under the budget of 3), since no valid request
    /// exists to report. The whole conversation's count is reported now: always above the budget.
    @Test func overBudgetWithoutAUserTurnReportsTheWholeCount() {
        let body = #"{"model":"m","messages":[{"role":"assistant","content":"orph\ud83d\ude00"},{"role":"assistant","content":"a"}],"max_tokens":10}"#
        #expect(F.error(body, .anthropic, budget: 3) == .contextTooLarge(tokens: 6, budget: 3))
        #expect(F.error(body, .openai, budget: 3) == .contextTooLarge(tokens: 6, budget: 3))
    }

    /// jwt: a correctly signed token whose nbf (or exp) is a number of seconds past Int's range
    /// trapped while its refusal was written for the log (Int(Double) overflow), which takes the
    /// whole gateway down. The exact header and claims the fuzzer signed, then the exp side.
    @Test func farOutTimeClaimsAreRefusedWithoutTrapping() throws {
        typealias J = JWTFixture
        let verifier = try J.verifier { $0.algorithms = ["HS256", "HS512"] }
        let kid = "UU" + String(repeating: "/", count: 10) + String(repeating: "'", count: 82) + String(repeating: "/", count: 27) + "UUUUk1"
        let header = #"{"alg": "HS512", "kid": "\#(kid)"}"#
        #expect(header.utf8.count == 154)
        let nbf = "1000770" + String(repeating: "9", count: 118) + "046"
        let claims = #"{"sub": "u", "iss": "https://auth.example.com", "aud": "app", "nbf": \#(nbf)}"#
        #expect(J.reason(verifier, J.token(header: header, claims: claims) { J.hmac($0, alg: "HS512") }) == .notYetValid)
        #expect(J.reason(verifier, J.hs256(#"{"sub": "u", "iss": "https://auth.example.com", "aud": "app", "exp": -1e300}"#)) == .expired)
        #expect(JWTClaimsCheck.seconds(1e300) == "1e+300" && JWTClaimsCheck.seconds(-41.6) == "-42")
    }

    /// html-sanitizer: `<img src=data:image/jpeg>` (a media type and no data) was kept, which the
    /// independent check (HTMLSafetyCheck) refuses: it only passes image data: URLs that go on
    /// with ";" or ",". Not a script risk (a browser loads nothing), but sanitizer and oracle
    /// disagreed; the allow-list now wants the ";" or "," too. The exact bytes the fuzzer found:
    @Test func imageDataURLWithoutDataIsDropped() {
        let input = String(decoding: Array(#"<div ifocus>//[<img src=data:image/jpeg>//[<img src=data:image/jpe)abqxbaud"#.utf8)
            + [0] + Array(#""'`>]<"#.utf8) + [0xBF] + Array("<img src=data:imapeg)ibelqblaa>>".utf8), as: UTF8.self)
        let once = HTMLSanitizer.sanitize(input)
        #expect(HTMLSafetyCheck.violations(once.html).isEmpty, "\(once.html)")
        #expect(!once.html.contains("data:"))
        #expect(HTMLSanitizer.sanitize(#"<img src="data:image/jpeg,AAAA">"#).html == #"<img src="data:image/jpeg,AAAA">"#)
        #expect(HTMLSanitizer.sanitize(#"<img src="data:image/jpeg">"#).html == "<img>")
    }
}
