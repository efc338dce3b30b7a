import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// One JSON value with the path it came from. Each accessor checks the type/range, records a
/// located error on mismatch and returns nil, so section decoders keep going after an error.
struct Field {
    let value: JSONValue
    let path: String
    let diag: Diagnostics

    func fail(_ message: String) { diag.error(path, message) }

    private func typeError<T>(_ expected: String) -> T? {
        fail("expected \(expected), got \(value.typeName)")
        return nil
    }

    var string: String? {
        if case .string(let s) = value { return s }
        return typeError("a string")
    }

    /// A string that must not be empty (names, URLs, header names).
    var nonEmptyString: String? {
        guard let s = string else { return nil }
        if s.isEmpty { fail("must not be empty"); return nil }
        return s
    }

    var bool: Bool? {
        if case .bool(let b) = value { return b }
        return typeError("a boolean")
    }

    func int(min: Int? = nil, max: Int? = nil) -> Int? {
        guard case .number(let n) = value else { return typeError("an integer") }
        guard n == n.rounded(), abs(n) <= 9_007_199_254_740_992 else {
            fail("expected an integer, got \(value.jsonText())")
            return nil
        }
        let i = Int(n)
        return checkRange(i, min: min, max: max) ? i : nil
    }

    func number(min: Double? = nil, max: Double? = nil) -> Double? {
        guard case .number(let n) = value else { return typeError("a number") }
        return checkRange(n, min: min, max: max) ? n : nil
    }

    private func checkRange<T: Comparable>(_ v: T, min: T?, max: T?) -> Bool {
        let shown = value.jsonText()
        switch (min, max) {
        case let (lo?, hi?) where v < lo || v > hi:
            fail("must be between \(text(lo)) and \(text(hi)), got \(shown)")
        case let (lo?, nil) where v < lo:
            fail("must be at least \(text(lo)), got \(shown)")
        case let (nil, hi?) where v > hi:
            fail("must be at most \(text(hi)), got \(shown)")
        default:
            return true
        }
        return false
    }

    private func text<T>(_ bound: T) -> String {
        if let d = bound as? Double { return JSONValue.numberText(d) }
        return "\(bound)"
    }

    /// A duration string (see `parseDuration`); `allowZero` for values where "0s" means "none".
    func duration(allowZero: Bool = false) -> Duration? {
        guard case .string(let s) = value else { return typeError("a duration string such as \"10s\"") }
        if let d = parseDuration(s, allowZero: allowZero) { return d }
        fail("\(value.jsonText()) is not a duration; use 10s, 5m, 1h, 1d")
        return nil
    }

    /// A string naming one case of a config enum; the message lists the accepted spellings.
    func oneOf<E: CaseIterable & RawRepresentable>(_ type: E.Type) -> E? where E.RawValue == String {
        guard let s = string else { return nil }
        if let e = E(rawValue: s) { return e }
        fail("\(value.jsonText()) is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }

    /// A string that must be one of `allowed` (for string sets that have no model enum).
    func oneOf(_ allowed: [String]) -> String? {
        guard let s = string else { return nil }
        if allowed.contains(s) { return s }
        fail("\(value.jsonText()) is not one of \(allowed.joined(separator: ", "))")
        return nil
    }

    var elements: [Field]? {
        guard case .array(let items) = value else { return typeError("an array") }
        return items.enumerated().map { Field(value: $1, path: ConfigPath.index(path, $0), diag: diag) }
    }

    /// An array of strings; a wrong element is reported at its index and skipped.
    var strings: [String]? {
        guard let items = elements else { return nil }
        return items.compactMap(\.string)
    }

    /// Members of a map-like object (upstream names, header names, model names).
    var members: [(key: String, field: Field)]? {
        guard case .object(let members) = value else { return typeError("an object") }
        return members.map { ($0.key, Field(value: $0.value, path: ConfigPath.key(path, $0.key), diag: diag)) }
    }

    /// An object with a fixed set of keys; anything else is reported as an unknown key.
    /// `unknownKey` replaces the "unknown key" message where a clearer one exists (schema keywords).
    func object(keys: [String], unknownKey: String? = nil) -> ObjectReader? {
        guard case .object(let members) = value else { return typeError("an object") }
        return ObjectReader(path: path, members: members, keys: keys, diag: diag, unknownKey: unknownKey)
    }
}

/// An object section with a known key set. Unknown keys are reported on creation (with a
/// "did you mean" hint for typos), then fields are pulled by name.
struct ObjectReader {
    let path: String
    let members: [(key: String, value: JSONValue)]
    let diag: Diagnostics

    init(path: String, members: [(key: String, value: JSONValue)], keys: [String], diag: Diagnostics,
         unknownKey: String? = nil) {
        self.path = path
        self.members = members
        self.diag = diag
        for member in members where !keys.contains(member.key) {
            var message = unknownKey ?? "unknown key"
            if let guess = ObjectReader.closest(member.key, in: keys) { message += " (did you mean \"\(guess)\"?)" }
            diag.error(ConfigPath.key(path, member.key), message)
        }
    }

    subscript(_ key: String) -> Field? {
        guard let v = members.first(where: { $0.key == key })?.value else { return nil }
        return Field(value: v, path: ConfigPath.key(path, key), diag: diag)
    }

    /// A key that must be present; its absence is reported at the key's own path.
    func required(_ key: String) -> Field? {
        if let f = self[key] { return f }
        diag.error(ConfigPath.key(path, key), "required")
        return nil
    }

    func has(_ key: String) -> Bool { members.contains { $0.key == key } }

    /// The closest allowed key within edit distance 2, for typo hints.
    static func closest(_ key: String, in keys: [String]) -> String? {
        let scored = keys.map { ($0, editDistance(Array(key.lowercased().utf8), Array($0.utf8))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2, best.1 < key.count else { return nil }
        return best.0
    }

    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
