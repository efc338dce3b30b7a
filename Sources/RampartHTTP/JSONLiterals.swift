/// Minimal JSON text building for logs, errors and admin answers: a hand-written writer is an order
/// of magnitude cheaper than Foundation's encoders on the per-request path.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included. The common case (nothing to escape) is a
    /// plain copy; otherwise the one escaper of `JSONValue` does the work.
    public static func quote(_ s: String) -> String {
        var plain = true
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F { plain = false; break }
        if plain { return "\"" + s + "\"" }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 8)
        JSONValue.writeString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Builds `{"k":v,...}` from already-encoded values, keeping order.
    public static func object(_ members: [(String, String)]) -> String {
        var out = "{"
        for (i, m) in members.enumerated() {
            if i > 0 { out.append(",") }
            out.append(quote(m.0)); out.append(":"); out.append(m.1)
        }
        out.append("}")
        return out
    }

    public static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    public static func number(_ d: Double) -> String { JSONValue.numberText(d) }
}
