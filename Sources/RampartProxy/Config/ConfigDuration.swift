import RampartHTTP
import RampartLoop
import RampartTransport
/// Parses a config duration: a positive integer followed by `ms`, `s`, `m`, `h` or `d` ("250ms",
/// "10s", "5m", "1h", "1d"). One strict spelling keeps configs greppable and typos loud.
public func parseDuration(_ s: String) -> Duration? {
    parseDuration(s, allowZero: false)
}

package func parseDuration(_ s: String, allowZero: Bool) -> Duration? {
    let utf8 = Array(s.utf8)
    var i = 0
    var value: Int64 = 0
    while i < utf8.count, utf8[i] >= UInt8(ascii: "0"), utf8[i] <= UInt8(ascii: "9") {
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(Int64(utf8[i] - UInt8(ascii: "0")))
        if o1 || o2 { return nil }
        value = sum
        i += 1
    }
    guard i > 0, i <= 12, value > 0 || allowZero else { return nil }   // 12 digits: no absurd overflows below
    switch String(decoding: utf8[i...], as: UTF8.self) {
    case "ms": return .milliseconds(value)
    case "s": return .seconds(value)
    case "m": return .seconds(value * 60)
    case "h": return .seconds(value * 3600)
    case "d": return .seconds(value * 86_400)
    default: return nil
    }
}

/// The shortest config spelling of a duration ("1h", "90s", "250ms"), for messages like
/// "10 per 1h" and for showing effective values back to ops.
public func formatDuration(_ d: Duration) -> String {
    let ms = d.configMilliseconds
    if ms % 1000 != 0 { return "\(ms)ms" }
    let s = ms / 1000
    if s != 0 && s % 86_400 == 0 { return "\(s / 86_400)d" }
    if s != 0 && s % 3600 == 0 { return "\(s / 3600)h" }
    if s != 0 && s % 60 == 0 { return "\(s / 60)m" }
    return "\(s)s"
}

extension Duration {
    /// Whole milliseconds, the unit the server's timers and the config's `_ms` keys use.
    public var configMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

extension Duration {
    var milliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
    var nanoseconds: UInt64 { UInt64(max(0, components.seconds)) * 1_000_000_000 + UInt64(max(0, components.attoseconds) / 1_000_000_000) }
}
