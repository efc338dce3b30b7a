import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// `validate.trim: true`: strings are trimmed before the checks and the trimmed document is
/// what the app receives; a body that needed no trimming is forwarded byte for byte.
@Suite struct ValidationTrimTests {
    typealias F = ValidationFixture

    private func forwarded(_ schema: String, _ body: String, trim: Bool = true) throws -> String? {
        guard case .success(let bytes) = try F.validator(schema, trim: trim).validate(Array(body.utf8)) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func trimmedDocumentIsForwardedInKeyOrder() throws {
        let body = #"{"z": "  Ann  ", "a": 1, "tags": [" x ", "y", "\t\n"], "meta": {"note": "\u00a0hi\u3000"}}"#
        #expect(try forwarded("{}", body) == #"{"z":"Ann","a":1,"tags":["x","y",""],"meta":{"note":"hi"}}"#)
    }

    @Test func untouchedBodyKeepsItsExactBytes() throws {
        let body = "{ \"name\" : \"Ann\",\n  \"n\": 1.50, \"big\": 12345678901234567890 }"
        #expect(try forwarded("{}", body) == body)
    }

    @Test func keysAreNotTrimmed() throws {
        #expect(try forwarded("{}", #"{" k ": "v"}"#) == #"{" k ": "v"}"#)
        #expect(try forwarded("{}", #"{" k ": " v"}"#) == #"{" k ":"v"}"#)
    }

    @Test func checksSeeTheTrimmedValue() throws {
        let schema = #"{"properties": {"name": {"type": "string", "minLength": 1, "maxLength": 3}, "p": {"enum": ["low"]}, "e": {"format": "email"}}}"#
        #expect(try F.details(schema, #"{"name": "   "}"#, trim: true) == [F.detail("name", "Must be at least 1 character")])
        #expect(try F.details(schema, #"{"name": "  Ann  ", "p": " low ", "e": " a@b.co "}"#, trim: true) == [])
        #expect(try F.details(schema, #"{"name": "  Ann  "}"#, trim: false) == [F.detail("name", "Must be at most 3 characters")])
    }

    @Test func withoutTrimStringsAreForwardedAsSent() throws {
        let body = #"{"name": "  Ann  "}"#
        #expect(try forwarded("{}", body, trim: false) == body)
    }

    @Test func trimmedRootString() throws {
        #expect(try forwarded(#"{"type": "string"}"#, #"" a ""#) == #""a""#)
    }

    @Test func failuresForwardNothing() throws {
        #expect(try forwarded(#"{"properties": {"n": {"type": "integer"}}}"#, #"{"s": " x ", "n": "1"}"#) == nil)
    }
}
