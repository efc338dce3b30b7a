import RampartHTTP
import RampartLoop
import RampartTransport
/// The `format` values Rampart enforces (unlike JSON Schema, where `format` is only an
/// annotation by default: an operator who writes it expects it checked).
///
/// Hand-written byte checks rather than regular expressions: exact, allocation-light, and
/// independent of any regex engine's dialect.
package enum StringFormat: String, Sendable {
    case uuid
    case dateTime = "date-time"
    case email

    package var message: String {
        switch self {
        case .uuid: "Must be a valid UUID"
        case .dateTime: "Must be a valid date-time"
        case .email: "Must be a valid email"
        }
    }

    package func accepts(_ s: String) -> Bool {
        switch self {
        case .uuid: Self.isUUID(Array(s.utf8))
        case .dateTime: Self.isDateTime(Array(s.utf8))
        case .email: Self.isEmail(s)
        }
    }

    /// `8-4-4-4-12` hex digits in either case. Any version and variant: the app decides whether
    /// it only wants v4 or v7; the gateway only guarantees the shape.
    static func isUUID(_ b: [UInt8]) -> Bool {
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if hexValue(c) == nil {
                return false
            }
        }
        return true
    }

    /// Pragmatic, not RFC 5322: exactly one `@`, a non-empty local part, a domain of at least
    /// two non-empty dot-separated labels, and no whitespace or control characters anywhere.
    /// Whether the mailbox exists is the app's problem; this catches typos and junk.
    static func isEmail(_ s: String) -> Bool {
        let scalars = s.unicodeScalars
        if scalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) { return false }
        let parts = scalars.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty }
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
