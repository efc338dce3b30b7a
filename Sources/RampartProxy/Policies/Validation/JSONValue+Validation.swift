import RampartHTTP
import RampartLoop
import RampartTransport
/// Helpers on parsed bodies that only request validation needs.
extension JSONValue {
    /// The document with leading and trailing whitespace removed from every string value
    /// (keys are names, not input, and are left alone), or nil when no string changed — which
    /// lets the caller forward the original bytes instead of re-serialising.
    func trimmingStrings() -> JSONValue? {
        switch self {
        case .string(let s):
            return Self.trimmed(s).map(JSONValue.string)
        case .array(let elements):
            var changed = false
            let out = elements.map { e -> JSONValue in
                guard let t = e.trimmingStrings() else { return e }
                changed = true
                return t
            }
            return changed ? .array(out) : nil
        case .object(let members):
            var changed = false
            let out = members.map { m -> (key: String, value: JSONValue) in
                guard let t = m.value.trimmingStrings() else { return m }
                changed = true
                return (m.key, t)
            }
            return changed ? .object(out) : nil
        case .null, .bool, .number:
            return nil
        }
    }

    /// Unicode whitespace (what Zod's `.trim()` strips, via JavaScript's `trim`), plus the BOM.
    private static func trimmed(_ s: String) -> String? {
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || c == "\u{FEFF}" }
        let scalars = s.unicodeScalars
        guard let first = scalars.first, let last = scalars.last, isSpace(first) || isSpace(last) else { return nil }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }),
              let end = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[start...end])
    }

    /// Deep equality for `enum` as JSON Schema defines it: object member order does not matter
    /// (the derived `==` compares in order, which is right for round-tripping but not here).
    func sameJSON(as other: JSONValue) -> Bool {
        switch (self, other) {
        case let (.array(a), .array(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.sameJSON(as: $1) }
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { m in b.contains { $0.key == m.key && $0.value.sameJSON(as: m.value) } }
        default:
            return self == other
        }
    }

    /// How an allowed value reads in "Must be one of: …": strings bare, as a user typed them.
    var displayText: String {
        if case .string(let s) = self { return s }
        return jsonText()
    }

    /// Whether arrays and objects in `bytes` nest deeper than `limit`, ignoring brackets inside
    /// strings. Only called after a parse failed, to tell "too deep" from "not JSON".
    static func nestingExceeds(_ limit: Int, in bytes: [UInt8]) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for c in bytes {
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }
}
