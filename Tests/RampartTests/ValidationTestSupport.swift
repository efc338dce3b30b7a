import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
@testable import Rampart

/// Helpers shared by the request-validation tests (namespaced so other test files can't collide).
enum ValidationFixture {
    static func validator(_ schema: String, trim: Bool = false, maxDepth: Int = 64) throws -> RequestValidator {
        RequestValidator(ValidateConfig(schema: try JSONValue.parse(schema), trim: trim), maxDepth: maxDepth)
    }

    /// The details a body fails with; empty when it passes.
    static func details(_ schema: String, _ body: String, trim: Bool = false) throws -> [ValidationDetail] {
        switch try validator(schema, trim: trim).validate(Array(body.utf8)) {
        case .success: return []
        case .failure(let failure): return failure.details
        }
    }

    /// The messages of a value checked against a schema at the root ("" field), for keyword tables.
    static func rootMessages(_ schema: String, _ value: String) throws -> [String] {
        try details(schema, value).map { detail in
            detail.field.isEmpty ? detail.message : "\(detail.field): \(detail.message)"
        }
    }

    static func detail(_ field: String, _ message: String) -> ValidationDetail {
        ValidationDetail(field: field, message: message)
    }
}
