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

    /// The same with the policy names made beforehand (one per status, in order).
    public static func fields(policyNames names: [String], statuses: [QuotaStatus]) -> [(String, String)] {
        fields(names, statuses, policyValue: nil)
    }

    /// The same for a route's quotas, its `RateLimit-Policy` value made once (`Policy`).
    public static func fields(policy: Policy, statuses: [QuotaStatus]) -> [(String, String)] {
        fields(policy.names, statuses, policyValue: policy.value(for: statuses))
    }

    /// Every answer of a quota route carries these, so each value is written into a stack buffer
    /// and made into a String once (String(Int) and `+=` per piece cost about 5,000 instructions
    /// a request).
    private static func fields(_ names: [String], _ statuses: [QuotaStatus], policyValue: String?) -> [(String, String)] {
        guard let tightest = statuses.min(by: { bindsFirst($0, $1) }) else { return [] }
        let listBytes = zip(names, statuses).reduce(0) { $0 + $1.0.utf8.count + 3 * 2 + 2 * 20 + 2 }
        let policy = policyValue ?? ASCIIWriter.string(capacity: listBytes) { out in
            for (i, s) in statuses.enumerated() where i < names.count {
                if i > 0 { out.write(", ") }
                out.write(names[i]); out.write(";q="); out.write(s.limit); out.write(";w="); out.write(seconds(s.window, atLeast: 1))
            }
        }
        let state = ASCIIWriter.string(capacity: listBytes) { writeState(names, statuses, to: &$0) }
        return [
            ("RateLimit-Policy", policy),
            ("RateLimit", state),
            ("X-RateLimit-Limit", decimal(tightest.limit)),
            ("X-RateLimit-Remaining", decimal(tightest.remaining)),
            ("X-RateLimit-Reset", decimal(seconds(tightest.resetAfter))),
        ]
    }

    /// The `RateLimit` value: each quota's name, remaining and seconds to reset.
    @inline(__always)
    private static func writeState(_ names: [String], _ statuses: [QuotaStatus], to out: inout ASCIIWriter) {
        for (i, s) in statuses.enumerated() where i < names.count {
            if i > 0 { out.write(", ") }
            out.write(names[i]); out.write(";r="); out.write(s.remaining); out.write(";t="); out.write(seconds(s.resetAfter))
        }
    }

    /// The same fields added to a head in one go: one capacity check for the five, and each value
    /// written straight into the head's storage (every answer of a quota route pays this).
    package static func add(policy: Policy, statuses: [QuotaStatus], to headers: inout HTTPHeaders) {
        guard let tightest = statuses.min(by: { bindsFirst($0, $1) }) else { return }
        guard let policyValue = policy.value(for: statuses) else {
            for (name, value) in fields(policy: policy, statuses: statuses) { headers.add(name, value) }
            return
        }
        let names = policy.names
        let listBytes = zip(names, statuses).reduce(0) { $0 + $1.0.utf8.count + 3 * 2 + 2 * 20 + 2 }
        let nameBytes = 16 + 9 + 17 + 21 + 17   // the five names
        HTTPHeaders.withBytes(policyValue) { policyBytes in
            headers.appendFields(count: 5, bytes: nameBytes + policyBytes.count + listBytes + 3 * 20) { out in
                out.add(literal: "RateLimit-Policy", checkedBytes: policyBytes)   // checked in Policy.init
                out.add(literal: "RateLimit", valueAtMost: listBytes) { p in      // names checked in Policy.init, digits
                    ASCIIWriter.write(at: p, capacity: listBytes) { writeState(names, statuses, to: &$0) }
                }
                out.add(literal: "X-RateLimit-Limit", valueAtMost: 20) { ASCIIWriter.write(at: $0, capacity: 20) { $0.write(tightest.limit) } }
                out.add(literal: "X-RateLimit-Remaining", valueAtMost: 20) { ASCIIWriter.write(at: $0, capacity: 20) { $0.write(tightest.remaining) } }
                out.add(literal: "X-RateLimit-Reset", valueAtMost: 20) {
                    ASCIIWriter.write(at: $0, capacity: 20) { $0.write(seconds(tightest.resetAfter)) }
                }
            }
        }
    }

    /// A route's policy names and `RateLimit-Policy` value, made once from its quotas' limits
    /// and windows.
    public struct Policy: Sendable {
        let names: [String]
        let limits: [Int]
        let windows: [Double]
        let value: String

        public init(names: [String], limits: [Int], windows: [Double]) {
            self.names = names
            self.limits = limits
            self.windows = windows
            let statuses = zip(limits, windows).map { QuotaStatus(limit: $0, remaining: 0, resetAfter: 0, window: $1) }
            value = RateLimitHeaders.fields(policyNames: names, statuses: statuses).first?.1 ?? ""
            // `add` marks the values it writes from these names checked: printable ASCII only
            // (`policyName` makes them so; a caller's own names are held to it here).
            precondition((names + [value]).allSatisfy { $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } },
                         "RateLimit policy names must be printable ASCII")
        }

        /// The value, when `statuses` are of the quotas it was made for (always, unless a caller
        /// passes others); nil otherwise, and the value is written afresh.
        func value(for statuses: [QuotaStatus]) -> String? {
            guard statuses.count == limits.count else { return nil }
            for (i, s) in statuses.enumerated() where s.limit != limits[i] || s.window != windows[i] { return nil }
            return value
        }
    }

    /// `n` in decimal, as String(n) writes it.
    static func decimal(_ n: Int) -> String {
        ASCIIWriter.string(capacity: 20) { $0.write(n) }
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

    /// A string written by `write` into a buffer of `capacity` bytes.
    static func string(capacity: Int, _ write: (inout ASCIIWriter) -> Void) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(capacity, 1)) { buffer in
            var out = ASCIIWriter(base: buffer.baseAddress!, capacity: max(capacity, 1))
            write(&out)
            return out.string
        }
    }

    /// Writes at `p` (room for `capacity` bytes); returns the count written.
    static func write(at p: UnsafeMutablePointer<UInt8>, capacity: Int, _ write: (inout ASCIIWriter) -> Void) -> Int {
        var out = ASCIIWriter(base: p, capacity: capacity)
        write(&out)
        return out.count
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
        let digits = decimalDigitCount(n.magnitude)
        precondition(count + digits <= capacity, "ASCIIWriter: capacity \(capacity) exceeded")
        count = writeDecimal(n.magnitude, at: base + count) - base
    }

    private mutating func copy(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count <= capacity, "ASCIIWriter: capacity \(capacity) exceeded")
        if let from = bytes.baseAddress { (base + count).initialize(from: from.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
        count += bytes.count
    }
}
