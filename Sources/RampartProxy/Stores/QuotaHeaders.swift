import RampartHTTP
import RampartLoop
import RampartTransport
/// The rate-limit response fields for a route with quotas (SPEC §5), on every response, allowed or not:
///
///     RateLimit-Policy: "generate-chapter";q=10;w=3600, "generate-chapter-1";q=100;w=60
///     RateLimit: "generate-chapter";r=3;t=1312, "generate-chapter-1";r=99;t=60
///     X-RateLimit-Limit: 10 / X-RateLimit-Remaining: 3 / X-RateLimit-Reset: 1312
///
/// The first two follow draft-ietf-httpapi-ratelimit-headers (structured-field lists, one item per
/// quota, named after the route and the quota's position). The X- trio can describe one quota only, so
/// it shows the one that binds first: fewest remaining, then the longest wait; on a 429 that makes
/// X-RateLimit-Reset equal Retry-After.
public enum RateLimitHeaders {
    public static func fields(routeName: String, statuses: [QuotaStatus]) -> [(String, String)] {
        fields(policyNames: statuses.indices.map { policyName(routeName: routeName, index: $0) }, statuses: statuses)
    }

    /// The same with the policy names made beforehand (one per status, in order). Every answer of
    /// a quota route carries these, so each value is written into one stack buffer and made into a
    /// String once (String(Int) and `+=` per piece cost about 5,000 instructions a request).
    public static func fields(policyNames names: [String], statuses: [QuotaStatus]) -> [(String, String)] {
        guard let tightest = statuses.min(by: { bindsFirst($0, $1) }) else { return [] }
        let listBytes = zip(names, statuses).reduce(0) { $0 + $1.0.utf8.count + 3 * 2 + 2 * 20 + 2 }
        let (policy, state) = ASCIIWriter.string(capacity: listBytes) { policy in
            for (i, s) in statuses.enumerated() where i < names.count {
                if i > 0 { policy.write(", ") }
                policy.write(names[i]); policy.write(";q="); policy.write(s.limit); policy.write(";w="); policy.write(seconds(s.window, atLeast: 1))
            }
        } second: { state in
            for (i, s) in statuses.enumerated() where i < names.count {
                if i > 0 { state.write(", ") }
                state.write(names[i]); state.write(";r="); state.write(s.remaining); state.write(";t="); state.write(seconds(s.resetAfter))
            }
        }
        return [
            ("RateLimit-Policy", policy),
            ("RateLimit", state),
            ("X-RateLimit-Limit", decimal(tightest.limit)),
            ("X-RateLimit-Remaining", decimal(tightest.remaining)),
            ("X-RateLimit-Reset", decimal(seconds(tightest.resetAfter))),
        ]
    }

    /// `n` in decimal, as String(n) writes it.
    static func decimal(_ n: Int) -> String {
        ASCIIWriter.string(capacity: 20, { $0.write(n) }, second: { _ in }).0
    }

    /// `"generate-chapter"` for a route's first quota, `"generate-chapter-1"` for the second, … as a
    /// structured-field string (quotes and backslashes escaped; bytes outside printable ASCII, which an
    /// sf-string cannot hold, become "_").
    public static func policyName(routeName: String, index: Int) -> String {
        var out = "\""
        for scalar in (index == 0 ? routeName : "\(routeName)-\(index)").unicodeScalars {
            switch scalar.value {
            case 0x22, 0x5C: out += "\\" + String(scalar)
            case 0x20...0x7E: out.unicodeScalars.append(scalar)
            default: out += "_"
            }
        }
        return out + "\""
    }

    /// Whole seconds, rounded up: a client told "t=1" that waits 1 s is never early.
    package static func seconds(_ value: Double, atLeast floor: Int = 0) -> Int {
        max(floor, Int(value.rounded(.up)))
    }

    private static func bindsFirst(_ a: QuotaStatus, _ b: QuotaStatus) -> Bool {
        a.remaining != b.remaining ? a.remaining < b.remaining : a.resetAfter > b.resetAfter
    }
}

/// Writes ASCII into a stack buffer sized beforehand (the caller's bound covers every write).
struct ASCIIWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    /// Two strings, each written by its closure into its own buffer of `capacity` bytes.
    static func string(capacity: Int, _ first: (inout ASCIIWriter) -> Void, second: (inout ASCIIWriter) -> Void) -> (String, String) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2 * max(capacity, 1)) { buffer in
            var a = ASCIIWriter(base: buffer.baseAddress!, capacity: max(capacity, 1))
            var b = ASCIIWriter(base: buffer.baseAddress! + max(capacity, 1), capacity: max(capacity, 1))
            first(&a)
            second(&b)
            return (a.string, b.string)
        }
    }

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) { self.base = base; self.capacity = capacity }

    var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { copy(UnsafeRawBufferPointer($0)) }
    }

    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { copy(UnsafeRawBufferPointer($0)) }
    }

    mutating func write(_ n: Int) {
        if n < 0 { write("-") }
        var m = n.magnitude
        var end = count
        repeat { m /= 10; end += 1 } while m > 0
        precondition(end <= capacity, "ASCIIWriter: capacity \(capacity) exceeded")
        m = n.magnitude
        var i = end
        repeat { i -= 1; base[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10); m /= 10 } while m > 0
        count = end
    }

    private mutating func copy(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= capacity, "ASCIIWriter: capacity \(capacity) exceeded")
        if let from = bytes.baseAddress { (base + count).initialize(from: from.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
        count += bytes.count
    }
}
