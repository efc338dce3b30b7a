import RampartHTTP
import RampartLoop
import RampartTransport
/// The per-request walk. It reports one detail per failing field — the first keyword that
/// fails, in the order type, enum, string rules, number rules — and keeps going through the
/// siblings, so a client sees every problem in one response (Zod's behaviour).
extension SchemaNode {
    package func check(_ value: JSONValue, at path: String, into details: inout [ValidationDetail]) {
        if let message = firstFailure(value) {
            details.append(ValidationDetail(field: path, message: message))
            return   // a field of the wrong type or value has no meaningful children to report
        }
        switch value {
        case .object(let members): checkMembers(members, at: path, into: &details)
        case .array(let elements):
            guard let items else { return }
            for (i, element) in elements.enumerated() {
                items.check(element, at: ConfigPath.index(path, i), into: &details)
            }
        default: break
        }
    }

    /// Declared properties in schema order (missing ones as "Required field"), then required
    /// names the schema gives no rules for, then unknown fields in body order.
    private func checkMembers(_ members: [(key: String, value: JSONValue)], at path: String,
                              into details: inout [ValidationDetail]) {
        if properties.isEmpty, required.isEmpty, allowsUnknown { return }
        let byName = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        for (name, node) in properties {
            if let child = byName[name] {
                node.check(child, at: ConfigPath.key(path, name), into: &details)
            } else if requiredSet.contains(name) {
                details.append(ValidationDetail(field: ConfigPath.key(path, name), message: "Required field"))
            }
        }
        for name in required where byName[name] == nil {
            details.append(ValidationDetail(field: ConfigPath.key(path, name), message: "Required field"))
        }
        if !allowsUnknown {
            for member in members where !propertyNames.contains(member.key) {
                details.append(ValidationDetail(field: ConfigPath.key(path, member.key), message: "Unknown field"))
            }
        }
    }

    /// The message of the first keyword this value itself fails, or nil.
    private func firstFailure(_ value: JSONValue) -> String? {
        if let types, !types.contains(where: { $0.matches(value) }) {
            return "Expected \(Self.list(types.map(\.rawValue), joinedBy: "or")), got \(value.typeName)"
        }
        if let allowed, !allowed.contains(where: { $0.sameJSON(as: value) }) {
            return "Must be one of: " + allowed.map(\.displayText).joined(separator: ", ")
        }
        switch value {
        case .string(let s): return stringFailure(s)
        case .number(let n): return numberFailure(n)
        default: return nil
        }
    }

    /// Lengths count Unicode scalars (JSON Schema's "characters"), not grapheme clusters: the
    /// result must not change with the runtime's Unicode tables, and a limit guarding storage
    /// should not let one "character" carry dozens of combining marks.
    private func stringFailure(_ s: String) -> String? {
        if minLength != nil || maxLength != nil {
            let length = s.unicodeScalars.count
            if let minLength, length < minLength { return "Must be at least \(Self.characters(minLength))" }
            if let maxLength, length > maxLength { return "Must be at most \(Self.characters(maxLength))" }
        }
        if let pattern, !pattern.matches(s) { return "Does not match pattern" }
        if let format, !format.accepts(s) { return format.message }
        return nil
    }

    private func numberFailure(_ n: Double) -> String? {
        if let minimum, n < minimum { return "Must be >= \(JSONValue.numberText(minimum))" }
        if let maximum, n > maximum { return "Must be <= \(JSONValue.numberText(maximum))" }
        return nil
    }

    private static func characters(_ n: Int) -> String { n == 1 ? "1 character" : "\(n) characters" }

    /// "a", "a or b", "a, b or c".
    private static func list(_ words: [String], joinedBy conjunction: String) -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " \(conjunction) " + words[words.count - 1]
    }
}
