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

    /// The same with the policy names made beforehand (one per status, in order); appended piece
    /// by piece since every answer of a quota route carries them.
    public static func fields(policyNames names: [String], statuses: [QuotaStatus]) -> [(String, String)] {
        guard let tightest = statuses.min(by: { bindsFirst($0, $1) }) else { return [] }
        var policy = "", state = ""
        for (i, s) in statuses.enumerated() where i < names.count {
            if i > 0 { policy += ", "; state += ", " }
            policy += names[i]; policy += ";q="; policy += String(s.limit); policy += ";w="; policy += String(seconds(s.window, atLeast: 1))
            state += names[i]; state += ";r="; state += String(s.remaining); state += ";t="; state += String(seconds(s.resetAfter))
        }
        return [
            ("RateLimit-Policy", policy),
            ("RateLimit", state),
            ("X-RateLimit-Limit", String(tightest.limit)),
            ("X-RateLimit-Remaining", String(tightest.remaining)),
            ("X-RateLimit-Reset", String(seconds(tightest.resetAfter))),
        ]
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
