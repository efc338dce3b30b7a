import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation

/// One level of a `validate.schema`, compiled once so a request pays for no schema lookups,
/// regex compilation or string-to-enum conversions.
///
/// The loader's `checkSchema` has already rejected unknown keywords, bad types and invalid
/// patterns, so compilation here never fails: anything it cannot read (only possible for a
/// `ValidateConfig` built by hand) is treated as absent, except a pattern that does not
/// compile, which rejects every string — a broken guard must fail closed, not open.
final class SchemaNode: Sendable {
    package let types: [SchemaType]?              // nil: any type
    package let properties: [(name: String, node: SchemaNode)]
    let propertyNames: Set<String>
    package let required: [String]                // only those not listed in `properties`, which are checked in schema order
    let requiredSet: Set<String>
    let allowsUnknown: Bool               // `additionalProperties`, JSON Schema default true
    package let items: SchemaNode?
    package let minLength: Int?
    package let maxLength: Int?
    package let minimum: Double?
    package let maximum: Double?
    package let allowed: [JSONValue]?             // `enum`
    package let pattern: SchemaPattern?
    package let format: StringFormat?

    package init(_ schema: JSONValue) {
        types = Self.types(schema["type"])
        if case .object(let members)? = schema["properties"] {
            properties = members.map { ($0.key, SchemaNode($0.value)) }
        } else {
            properties = []
        }
        let declared = Set(properties.map(\.name))
        propertyNames = declared
        var names: [String] = []
        if case .array(let list)? = schema["required"] {
            for case .string(let name) in list where !names.contains(name) { names.append(name) }
        }
        requiredSet = Set(names)
        required = names.filter { !declared.contains($0) }
        if case .bool(false)? = schema["additionalProperties"] { allowsUnknown = false } else { allowsUnknown = true }
        items = schema["items"].flatMap { if case .object = $0 { SchemaNode($0) } else { nil } }
        minLength = Self.count(schema["minLength"])
        maxLength = Self.count(schema["maxLength"])
        if case .number(let n)? = schema["minimum"] { minimum = n } else { minimum = nil }
        if case .number(let n)? = schema["maximum"] { maximum = n } else { maximum = nil }
        if case .array(let values)? = schema["enum"] { allowed = values } else { allowed = nil }
        if case .string(let p)? = schema["pattern"] { pattern = SchemaPattern(p) } else { pattern = nil }
        if case .string(let f)? = schema["format"] { format = StringFormat(rawValue: f) } else { format = nil }
    }

    private static func types(_ value: JSONValue?) -> [SchemaType]? {
        switch value {
        case .string(let name)?:
            return SchemaType(rawValue: name).map { [$0] }
        case .array(let names)?:
            var list: [SchemaType] = []   // deduplicated so a message never says "string or string"
            for case .string(let name) in names {
                if let type = SchemaType(rawValue: name), !list.contains(type) { list.append(type) }
            }
            return list.isEmpty ? nil : list
        default:
            return nil
        }
    }

    private static func count(_ value: JSONValue?) -> Int? {
        guard case .number(let n)? = value, n >= 0, n == n.rounded(), n < 9_007_199_254_740_992 else { return nil }
        return Int(n)
    }
}

/// The JSON types a schema can name. `integer` is a number with no fractional part (so `1.0`
/// counts, as in JSON Schema), and every integer is also a `number`.
enum SchemaType: String, Sendable {
    case string, number, integer, boolean, object, array, null

    package func matches(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.string, .string), (.number, .number), (.boolean, .bool), (.object, .object), (.array, .array), (.null, .null):
            return true
        case (.integer, .number(let n)):
            return n == n.rounded()
        default:
            return false
        }
    }
}

/// A compiled `pattern`. `NSRegularExpression` is the engine `checkSchema` validated the
/// pattern with, so both agree on the syntax.
struct SchemaPattern: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable after creation and documented as safe to
    // use from several threads at once; corelibs Foundation just does not declare it Sendable.
    let regex: NSRegularExpression?

    package init(_ pattern: String) {
        regex = try? NSRegularExpression(pattern: pattern)
    }

    /// Unanchored search, as JSON Schema specifies: `"^a"` must be written to anchor.
    package func matches(_ s: String) -> Bool {
        guard let regex else { return false }
        return regex.firstMatch(in: s, range: NSRange(location: 0, length: s.utf16.count)) != nil
    }
}
