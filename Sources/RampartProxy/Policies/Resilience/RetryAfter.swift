import RampartHTTP
import RampartLoop
import RampartTransport
/// Parses an upstream's `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date.
///
/// Why hand-written: only this one header needs dates, and the three HTTP-date forms are fixed-width
/// enough that a small parser is clearer (and locale-proof) compared with a date formatter. RFC 9110 §5.6.7
/// asks recipients to accept all three: IMF-fixdate, the obsolete RFC 850 form and asctime.
public enum RetryAfter {
    /// Seconds to wait from `now` (unix seconds); dates in the past give 0. Nil when the value is
    /// neither form — the caller then falls back to its own backoff.
    public static func seconds(_ value: String, now: Double) -> Double? {
        let text = value.trimmingSpaces()
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Huge numbers saturate rather than fail: "wait forever" is still an answer (it won't fit).
            return Double(text) ?? .infinity
        }
        guard let date = httpDate(text) else { return nil }
        return max(0, date - now)
    }

    /// Unix seconds of an HTTP-date in any of the three forms, or nil.
    public static func httpDate(_ value: String) -> Double? {
        let parts = value.trimmingSpaces().split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        if parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
           let day = Int(parts[1]), let month = month(parts[2]), parts[3].count == 4, let year = Int(parts[3]) {
            return unix(year: year, month: month, day: day, time: parts[4])
        }
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
        if parts.count == 4, parts[0].hasSuffix(","), parts[3] == "GMT" {
            let dmy = parts[1].split(separator: "-").map(String.init)
            guard dmy.count == 3, let day = Int(dmy[0]), let month = month(dmy[1]), dmy[2].count == 2,
                  let yy = Int(dmy[2]) else { return nil }
            // Two-digit years: RFC 9110 says read them as the most recent past century that fits;
            // for a Retry-After (always near "now") 70–99 → 19xx, else 20xx is that rule in practice.
            return unix(year: yy >= 70 ? 1900 + yy : 2000 + yy, month: month, day: day, time: parts[2])
        }
        // asctime: "Sun Nov  6 08:49:37 1994"
        if parts.count == 5, let month = month(parts[1]), let day = Int(parts[2]),
           parts[4].count == 4, let year = Int(parts[4]) {
            return unix(year: year, month: month, day: day, time: parts[3])
        }
        return nil
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func month(_ name: String) -> Int? {
        months.firstIndex(of: name).map { $0 + 1 }
    }

    private static func unix(year: Int, month: Int, day: Int, time: String) -> Double? {
        let hms = time.split(separator: ":").map { Int($0) }
        guard hms.count == 3, let h = hms[0], let m = hms[1], let s = hms[2],
              (0...23).contains(h), (0...59).contains(m), (0...60).contains(s),
              (1...31).contains(day), year >= 1970 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + h * 3600 + m * 60 + s)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
