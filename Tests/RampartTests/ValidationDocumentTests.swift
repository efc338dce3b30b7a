import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Whole-body behaviour: field paths, several failures at once, unknown fields, trimming,
/// non-JSON bodies and nesting limits.
@Suite struct ValidationDocumentTests {
    typealias F = ValidationFixture

    static let order = #"""
    {"type": "object", "additionalProperties": false, "required": ["customer", "items"],
     "properties": {
       "customer": {"type": "object", "additionalProperties": false, "required": ["name", "email"],
                    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                                   "email": {"type": "string", "format": "email"},
                                   "renewal_date": {"type": "string", "format": "date-time"}}},
       "items": {"type": "array",
                 "items": {"type": "object", "required": ["sku", "qty"],
                           "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
                                          "qty": {"type": "integer", "minimum": 1, "maximum": 99}}}},
       "priority": {"enum": ["low", "high"]},
       "id": {"type": "string", "format": "uuid"}}}
    """#

    @Test func validOrderPassesUntouched() throws {
        let body = #"""
        { "customer": {"name": "Ann", "email": "ann@example.com", "renewal_date": "2026-01-01T00:00:00Z"},
          "items": [{"sku": "ABC-1", "qty": 2}], "priority": "high",
          "id": "123e4567-e89b-12d3-a456-426614174000" }
        """#
        let result = try F.validator(Self.order).validate(Array(body.utf8))
        #expect(result == .success(Array(body.utf8)))
    }

    @Test func reportsEveryFailingFieldWithItsPath() throws {
        let body = #"""
        {"customer": {"name": "", "nickname": "A"},
         "items": [{"sku": "ABC-1", "qty": 1}, {"sku": "abc", "qty": 1}, {"sku": "ABC-2", "qty": 0}, {"qty": 2.5}],
         "priority": "urgent", "id": "x", "coupon": "FREE"}
        """#
        #expect(try F.details(Self.order, body) == [
            F.detail("customer.name", "Must be at least 1 character"),
            F.detail("customer.email", "Required field"),
            F.detail("customer.nickname", "Unknown field"),
            F.detail("items[1].sku", "Does not match pattern"),
            F.detail("items[2].qty", "Must be >= 1"),
            F.detail("items[3].sku", "Required field"),
            F.detail("items[3].qty", "Expected integer, got number"),
            F.detail("priority", "Must be one of: low, high"),
            F.detail("id", "Must be a valid UUID"),
            F.detail("coupon", "Unknown field"),
        ])
    }

    @Test func wrongContainerTypeIsOneDetailNotOnePerChild() throws {
        #expect(try F.details(Self.order, #"{"customer": "Ann", "items": {}}"#) == [
            F.detail("customer", "Expected object, got string"),
            F.detail("items", "Expected array, got object"),
        ])
        #expect(try F.details(Self.order, "[]") == [F.detail("", "Expected object, got array")])
    }

    @Test func missingTopLevelFieldsAndRequiredWithoutRules() throws {
        #expect(try F.details(Self.order, "{}") == [F.detail("customer", "Required field"), F.detail("items", "Required field")])
        let schema = #"{"required": ["b", "a"], "properties": {"a": {"type": "string"}}}"#
        // Declared properties first (schema order), then required names the schema has no rules for.
        #expect(try F.details(schema, "{}") == [F.detail("a", "Required field"), F.detail("b", "Required field")])
    }

    @Test func unknownFieldsInNestedArraysAndOddKeys() throws {
        let schema = #"{"items": {"properties": {"a": {}}, "additionalProperties": false}}"#
        #expect(try F.details(schema, #"[{"a": 1}, {"a": 1, "b": 2, "c d": 3}]"#) == [
            F.detail("[1].b", "Unknown field"),
            F.detail(#"[1]["c d"]"#, "Unknown field"),
        ])
        let nested = #"{"properties": {"m": {"properties": {"x.y": {"type": "string"}}}}}"#
        #expect(try F.details(nested, #"{"m": {"x.y": 1}}"#) == [F.detail(#"m["x.y"]"#, "Expected string, got number")])
    }

    @Test func nestedArraysOfArrays() throws {
        let schema = #"{"items": {"items": {"type": "integer"}}}"#
        #expect(try F.details(schema, #"[[1], [2, "x"], [], ["y"]]"#) == [
            F.detail("[1][1]", "Expected integer, got string"),
            F.detail("[3][0]", "Expected integer, got string"),
        ])
    }

    @Test func summaryNamesTheFieldWhenThereIsOne() {
        #expect(ValidationFailure(details: [F.detail("name", "Required field")]).summary == "name: Required field")
        #expect(ValidationFailure(details: [F.detail("", "Expected object, got array")]).summary == "Expected object, got array")
        #expect(ValidationFailure(details: [F.detail("a", "x"), F.detail("b", "y")]).summary == "2 fields are invalid")
        #expect(ValidationFailure.invalidJSON.summary == "Body must be valid JSON")
    }

    // MARK: - Not JSON

    @Test(arguments: ["", "   ", "{", "nope", #"{"a": 1,}"#, #"{"a": 1, "a": 2}"#, "'single'", "{} {}"])
    func notJSON(body: String) throws {
        let result = try F.validator(#"{"type": "object"}"#).validate(Array(body.utf8))
        #expect(result == .failure(ValidationFailure(details: [F.detail("", "Body must be valid JSON")], notJSON: true)))
    }

    @Test func invalidUTF8IsNotJSON() throws {
        let result = try F.validator("{}").validate([0x22, 0xFF, 0xFE, 0x22])
        #expect(result == .failure(.invalidJSON))
    }

    // MARK: - Depth

    @Test func nestingAtTheLimitIsFine() throws {
        let body = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try F.validator("{}").validate(Array(body.utf8)) == .success(Array(body.utf8)))
    }

    @Test(arguments: [65, 100_000])
    func nestingBeyondTheLimitIsADetail(depth: Int) throws {
        let body = String(repeating: #"{"a":["#, count: depth / 2 + 1) + "1" + String(repeating: "]}", count: depth / 2 + 1)
        let result = try F.validator(#"{"type": "object"}"#).validate(Array(body.utf8))
        #expect(result == .failure(ValidationFailure(details: [F.detail("", "Must not be nested deeper than 64 levels")])))
    }

    @Test func bracketsInsideStringsDoNotCount() throws {
        let body = #"{"s": "\#(String(repeating: "[{", count: 500))\"]"}"#
        #expect(try F.details(#"{"properties": {"s": {"type": "string"}}}"#, body) == [])
        let broken = #"{"s": "\#(String(repeating: "[", count: 500))"#   // unterminated, shallow
        #expect(try F.validator("{}").validate(Array(broken.utf8)) == .failure(.invalidJSON))
    }

    @Test func depthLimitIsConfigurable() throws {
        let validator = try F.validator("{}", maxDepth: 2)
        #expect(validator.validate(Array("[[1]]".utf8)) == .success(Array("[[1]]".utf8)))
        #expect(validator.validate(Array("[[[1]]]".utf8))
                == .failure(ValidationFailure(details: [F.detail("", "Must not be nested deeper than 2 levels")])))
    }

    // MARK: - Concurrency

    @Test func oneValidatorServesManyTasks() async throws {
        let validator = try F.validator(Self.order)
        let good = Array(#"{"customer": {"name": "A", "email": "a@b.co"}, "items": []}"#.utf8)
        let bad = Array(#"{"customer": {"name": "A", "email": "a@b.co"}, "items": [{"sku": "x", "qty": 1}]}"#.utf8)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let ok = (try? validator.validate(i.isMultiple(of: 2) ? good : bad).get()) != nil
                    return ok != i.isMultiple(of: 2)
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 0)
    }
}
