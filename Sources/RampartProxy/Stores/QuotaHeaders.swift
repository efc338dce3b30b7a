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
    /// a quota route carries these, so the values are written as bytes, each made into a String
    /// once (String(Int) and `+=` per piece cost about 5,000 instructions a request).
    public static func fields(policyNames names: [String], statuses: [QuotaStatus]) -> [(String, String)] {
        guard let tightest = statuses.min(by: { bindsFirst($0, $1) }) else { return [] }
        var policy: [UInt8] = [], state: [UInt8] = []
        policy.reserveCapacity(48 * statuses.count)
        state.reserveCapacity(48 * statuses.count)
        for (i, s) in statuses.enumerated() where i < names.count {
            if i > 0 { policy.append(contentsOf: ", ".utf8); state.append(contentsOf: ", ".utf8) }
            policy.append(contentsOf: names[i].utf8)
            policy.append(contentsOf: ";q=".utf8); appendDecimal(s.limit, to: &policy)
            policy.append(contentsOf: ";w=".utf8); appendDecimal(seconds(s.window, atLeast: 1), to: &policy)
            state.append(contentsOf: names[i].utf8)
            state.append(contentsOf: ";r=".utf8); appendDecimal(s.remaining, to: &state)
            state.append(contentsOf: ";t=".utf8); appendDecimal(seconds(s.resetAfter), to: &state)
        }
        return [
            ("RateLimit-Policy", String(decoding: policy, as: UTF8.self)),
            ("RateLimit", String(decoding: state, as: UTF8.self)),
            ("X-RateLimit-Limit", decimal(tightest.limit)),
            ("X-RateLimit-Remaining", decimal(tightest.remaining)),
            ("X-RateLimit-Reset", decimal(seconds(tightest.resetAfter))),
        ]
    }

    /// `n` in decimal (a minus sign for a negative one), appended as ASCII digits.
    static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        var m = n.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // up to 24 digits, most significant last
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[count] = UInt8(ascii: "0") + UInt8(m % 10); m /= 10; count += 1 } while m > 0
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    static func decimal(_ n: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        appendDecimal(n, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
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
