/// Minimal JSON text building for logs, errors and admin answers: a hand-written writer is an order
/// of magnitude cheaper than Foundation's encoders on the per-request path.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        appendEscaped(s, to: &out)
        out.append("\"")
        return out
    }

    public static func appendEscaped(_ s: String, to out: inout String) {
        var needs = false
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C { needs = true; break }
        if !needs { out.append(s); return }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
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

    public static func number(_ d: Double) -> String {
        if d.isFinite && d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
        return d.isFinite ? String(d) : "null"
    }
}
