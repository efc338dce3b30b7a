import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// One table per keyword: (schema, value at the root, expected message or nil for a pass).
@Suite struct ValidationKeywordTests {
    typealias F = ValidationFixture

    private func expect(_ schema: String, _ value: String, _ message: String?) throws {
        #expect(try F.rootMessages(schema, value) == (message.map { [$0] } ?? []), "schema \(schema), value \(value)")
    }

    @Test(arguments: [
        (#"{"type": "string"}"#, #""a""#, nil),
        (#"{"type": "string"}"#, "1", "Expected string, got number"),
        (#"{"type": "number"}"#, "3", nil),
        (#"{"type": "number"}"#, #""3""#, "Expected number, got string"),
        (#"{"type": "integer"}"#, "1.0", nil),
        (#"{"type": "integer"}"#, "-7e2", nil),
        (#"{"type": "integer"}"#, "1.5", "Expected integer, got number"),
        (#"{"type": "boolean"}"#, "false", nil),
        (#"{"type": "boolean"}"#, "0", "Expected boolean, got number"),
        (#"{"type": "object"}"#, "[]", "Expected object, got array"),
        (#"{"type": "array"}"#, "{}", "Expected array, got object"),
        (#"{"type": "null"}"#, "null", nil),
        (#"{"type": "string"}"#, "null", "Expected string, got null"),
        (#"{"type": ["string", "null"]}"#, "null", nil),
        (#"{"type": ["string", "null"]}"#, "1", "Expected string or null, got number"),
        (#"{"type": ["string", "number", "null"]}"#, "true", "Expected string, number or null, got boolean"),
        (#"{"type": ["string", "string"]}"#, "true", "Expected string, got boolean"),
        (#"{}"#, #"{"anything": [1, "x"]}"#, nil),
    ] as [(String, String, String?)])
    func type(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"minLength": 3}"#, #""abc""#, nil),
        (#"{"minLength": 3}"#, #""ab""#, "Must be at least 3 characters"),
        (#"{"minLength": 1}"#, #""""#, "Must be at least 1 character"),
        (#"{"minLength": 2}"#, #""e\u0301""#, nil),           // one grapheme, two scalars
        (#"{"minLength": 3}"#, "12", nil),                      // not a string: keyword does not apply
        (#"{"minLength": 0}"#, #""""#, nil),
    ] as [(String, String, String?)])
    func minLength(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"maxLength": 3}"#, #""abc""#, nil),
        (#"{"maxLength": 3}"#, #""abcd""#, "Must be at most 3 characters"),
        (#"{"maxLength": 3}"#, #""日本語""#, nil),                // 9 UTF-8 bytes, 3 scalars
        (#"{"maxLength": 3}"#, "\"\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\"", "Must be at most 3 characters"),  // 1 grapheme, 5 scalars
        (#"{"maxLength": 1}"#, #""ab""#, "Must be at most 1 character"),
        (#"{"maxLength": 0}"#, "[1, 2]", nil),
    ] as [(String, String, String?)])
    func maxLength(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"minimum": 1}"#, "1", nil),                           // inclusive
        (#"{"minimum": 1}"#, "0", "Must be >= 1"),
        (#"{"minimum": -0.5}"#, "-1", "Must be >= -0.5"),
        (#"{"minimum": 0.5}"#, "0.5", nil),
        (#"{"minimum": 1}"#, #""0""#, nil),                       // strings are not compared
    ] as [(String, String, String?)])
    func minimum(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"maximum": 100}"#, "100", nil),
        (#"{"maximum": 100}"#, "100.01", "Must be <= 100"),
        (#"{"maximum": 1e9}"#, "1e10", "Must be <= 1000000000"),
        (#"{"maximum": 0}"#, "-1e300", nil),
        (#"{"maximum": 0}"#, "true", nil),
    ] as [(String, String, String?)])
    func maximum(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"enum": ["a", "b"]}"#, #""a""#, nil),
        (#"{"enum": ["a", "b"]}"#, #""c""#, "Must be one of: a, b"),
        (#"{"enum": ["a", "b"]}"#, #""A""#, "Must be one of: a, b"),   // case-sensitive
        (#"{"enum": [1, null, true]}"#, "null", nil),
        (#"{"enum": [1, null, true]}"#, "1.0", nil),
        (#"{"enum": [1, null, true]}"#, #""1""#, "Must be one of: 1, null, true"),
        (#"{"enum": [{"a": 1, "b": [2]}]}"#, #"{"b": [2], "a": 1}"#, nil),  // member order ignored
        (#"{"enum": [[1, 2]]}"#, "[2, 1]", #"Must be one of: [1,2]"#),     // element order matters
        (#"{"enum": [{"a": 1}]}"#, #"{"a": 1, "b": 2}"#, #"Must be one of: {"a":1}"#),
    ] as [(String, String, String?)])
    func enumeration(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"pattern": "^[a-z]+$"}"#, #""abc""#, nil),
        (#"{"pattern": "^[a-z]+$"}"#, #""abc1""#, "Does not match pattern"),
        (#"{"pattern": "b"}"#, #""abc""#, nil),                   // unanchored search
        (#"{"pattern": "\\d"}"#, #""x""#, "Does not match pattern"),
        (#"{"pattern": "^.$"}"#, "\"\u{1F600}\"", nil),           // one code point beyond the BMP
        (#"{"pattern": "^a$"}"#, "7", nil),
    ] as [(String, String, String?)])
    func pattern(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"required": ["a"]}"#, #"{"a": 1}"#, nil),
        (#"{"required": ["a"]}"#, "{}", "a: Required field"),
        (#"{"required": ["a"]}"#, #"{"a": null}"#, nil),          // present, even if null
        (#"{"required": ["a"]}"#, #""not an object""#, nil),
        (#"{"required": []}"#, "{}", nil),
    ] as [(String, String, String?)])
    func required(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"properties": {"a": {}}, "additionalProperties": false}"#, #"{"a": 1}"#, nil),
        (#"{"properties": {"a": {}}, "additionalProperties": false}"#, #"{"a": 1, "b": 2}"#, "b: Unknown field"),
        (#"{"additionalProperties": false}"#, #"{"x.y": 1}"#, #"["x.y"]: Unknown field"#),
        (#"{"additionalProperties": false}"#, "{}", nil),
        (#"{"properties": {"a": {}}, "additionalProperties": true}"#, #"{"b": 2}"#, nil),
        (#"{"properties": {"a": {}}}"#, #"{"b": 2}"#, nil),
    ] as [(String, String, String?)])
    func additionalProperties(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"properties": {"n": {"type": "integer"}}}"#, #"{"n": 2}"#, nil),
        (#"{"properties": {"n": {"type": "integer"}}}"#, #"{"n": "2"}"#, "n: Expected integer, got string"),
        (#"{"properties": {"n": {"type": "integer"}}}"#, "{}", nil),       // optional unless required
        (#"{"properties": {"n": {"type": "integer"}}}"#, "[]", nil),
    ] as [(String, String, String?)])
    func properties(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"items": {"type": "integer"}}"#, "[1, 2, 3]", nil),
        (#"{"items": {"type": "integer"}}"#, #"[1, 2, "x"]"#, "[2]: Expected integer, got string"),
        (#"{"items": {"type": "integer"}}"#, "[]", nil),
        (#"{"items": {"type": "integer"}}"#, #"{"0": "x"}"#, nil),
    ] as [(String, String, String?)])
    func items(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    @Test(arguments: [
        (#"{"type": "string", "title": "Name", "description": "Shown on the invoice"}"#, #""x""#, nil),
        (#"{"type": "string", "title": "Name", "description": "Shown on the invoice"}"#, "1", "Expected string, got number"),
        (#"{"description": "no rules"}"#, "null", nil),
    ] as [(String, String, String?)])
    func annotationsAreIgnored(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }

    /// One field, several failing keywords: only the first (type, enum, length, pattern, format) is reported.
    @Test(arguments: [
        (#"{"type": "string", "minLength": 5, "pattern": "^x"}"#, #""ab""#, "Must be at least 5 characters"),
        (#"{"type": "string", "enum": ["xyz"], "minLength": 5}"#, #""ab""#, "Must be one of: xyz"),
        (#"{"type": "string", "minLength": 5}"#, "1", "Expected string, got number"),
        (#"{"pattern": "^x", "format": "email"}"#, #""a b""#, "Does not match pattern"),
        (#"{"minimum": 5, "maximum": 1}"#, "3", "Must be >= 5"),
    ] as [(String, String, String?)])
    func firstFailingKeywordWins(schema: String, value: String, message: String?) throws { try expect(schema, value, message) }
}
