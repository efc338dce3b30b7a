import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Foundation

/// Checks a route's `validate.schema` against the JSON Schema subset Rampart implements (SPEC §6.4),
/// so an unsupported keyword fails at load time instead of being silently ignored per request.
extension ConfigDecoder {
    static let schemaKeywords = ["type", "properties", "required", "additionalProperties", "items", "minLength",
                                 "maxLength", "minimum", "maximum", "enum", "pattern", "format", "description", "title"]
    static let schemaTypes = ["object", "array", "string", "number", "integer", "boolean", "null"]
    static let schemaFormats = ["uuid", "date-time", "email"]

    func checkSchema(_ field: Field) {
        let message = "unsupported schema keyword; supported: " + Self.schemaKeywords.joined(separator: ", ")
        guard let r = field.object(keys: Self.schemaKeywords, unknownKey: message) else { return }
        if let f = r["type"] {
            switch f.value {
            case .array(let items):
                if items.isEmpty { f.fail("must list at least one type") }
                f.elements?.forEach { _ = $0.oneOf(Self.schemaTypes) }
            default:
                _ = f.oneOf(Self.schemaTypes)
            }
        }
        r["properties"]?.members?.forEach { checkSchema($0.field) }
        if let f = r["required"], let names = f.strings, Set(names).count != names.count {
            f.fail("lists a property twice")
        }
        _ = r["additionalProperties"]?.bool
        if let f = r["items"] { checkSchema(f) }
        let minLength = r["minLength"]?.int(min: 0)
        let maxLength = r["maxLength"]?.int(min: 0)
        if let minLength, let maxLength, minLength > maxLength { r["maxLength"]?.fail("is less than minLength") }
        let minimum = r["minimum"]?.number()
        let maximum = r["maximum"]?.number()
        if let minimum, let maximum, minimum > maximum { r["maximum"]?.fail("is less than minimum") }
        if let f = r["enum"], let items = f.elements, items.isEmpty { f.fail("must list at least one value") }
        if let f = r["pattern"], let pattern = f.string {
            do {
                _ = try NSRegularExpression(pattern: pattern)
            } catch {
                f.fail("\(f.value.jsonText()) is not a valid regular expression")
            }
        }
        _ = r["format"]?.oneOf(Self.schemaFormats)
        _ = r["description"]?.string
        _ = r["title"]?.string
    }
}
