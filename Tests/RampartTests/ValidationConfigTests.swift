import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The validator compiled from a schema the config loader accepted, so the two agree on the subset.
@Suite struct ValidationConfigTests {
    @Test func schemaFromTheLoaderValidates() throws {
        let json = #"""
        {"upstreams": {"app": {"url": "http://127.0.0.1:3000"}},
         "routes": [{"name": "create-customer", "match": {"path": "/api/customers"},
                     "validate": {"trim": true, "schema": {
                       "type": "object", "additionalProperties": false, "required": ["name"],
                       "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200, "title": "Name"},
                                      "arr": {"type": ["number", "null"], "minimum": 0, "maximum": 1000000000},
                                      "renewal_date": {"type": "string", "format": "date-time"},
                                      "tier": {"enum": ["free", 1, null, {"k": [true]}]},
                                      "code": {"type": "string", "pattern": "^[A-Z]{2}\\d+$"},
                                      "tags": {"type": "array", "items": {"type": "string", "maxLength": 10}}}}}}]}
        """#
        let config = try ConfigLoader.parse(json: json, environment: [:])
        let validate = try #require(config.routes.first?.validate)
        let validator = RequestValidator(validate)

        let good = #"{"name": " Acme ", "arr": null, "tier": {"k": [true]}, "code": "AB12", "tags": ["a"]}"#
        #expect(validator.validate(Array(good.utf8))
                == .success(Array(#"{"name":"Acme","arr":null,"tier":{"k":[true]},"code":"AB12","tags":["a"]}"#.utf8)))

        let bad = #"{"arr": -1, "renewal_date": "2026-02-30T00:00:00Z", "tier": 2, "code": "ab12", "tags": ["x", 3], "extra": 1}"#
        guard case .failure(let failure) = validator.validate(Array(bad.utf8)) else { Issue.record("accepted"); return }
        #expect(failure.notJSON == false)
        #expect(failure.details == [
            ValidationDetail(field: "name", message: "Required field"),
            ValidationDetail(field: "arr", message: "Must be >= 0"),
            ValidationDetail(field: "renewal_date", message: "Must be a valid date-time"),
            ValidationDetail(field: "tier", message: #"Must be one of: free, 1, null, {"k":[true]}"#),
            ValidationDetail(field: "code", message: "Does not match pattern"),
            ValidationDetail(field: "tags[1]", message: "Expected string, got number"),
            ValidationDetail(field: "extra", message: "Unknown field"),
        ])
    }

    /// A hand-built config the loader would have refused must still fail closed on a broken pattern.
    @Test func uncompilablePatternRejectsEveryString() throws {
        let validator = try ValidationFixture.validator(#"{"pattern": "("}"#)
        #expect(validator.validate(Array(#""anything""#.utf8))
                == .failure(ValidationFailure(details: [ValidationDetail(field: "", message: "Does not match pattern")])))
    }
}
