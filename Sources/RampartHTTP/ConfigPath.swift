/// Builds the JSON paths used in error messages.
package enum ConfigPath {
    /// `base.key`, or `base["key"]` when the key would be ambiguous after a dot (e.g. `gpt-4.1`).
    package static func key(_ base: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        if plain { return base.isEmpty ? key : "\(base).\(key)" }
        return "\(base)[\(JSONValue.string(key).jsonText())]"
    }

    package static func index(_ base: String, _ index: Int) -> String { "\(base)[\(index)]" }
}
