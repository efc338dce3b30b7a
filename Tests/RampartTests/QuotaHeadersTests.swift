import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

@Suite struct QuotaHeadersTests {
    @Test func oneQuotaMatchesTheDraftExample() {
        let status = QuotaStatus(limit: 10, remaining: 3, resetAfter: 1311.2, window: 3600)
        let fields = RateLimitHeaders.fields(routeName: "generate-chapter", statuses: [status])
        #expect(fields.map(\.0) == ["RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                    "X-RateLimit-Reset"])
        #expect(fields.map(\.1) == [#""generate-chapter";q=10;w=3600"#, #""generate-chapter";r=3;t=1312"#,
                                    "10", "3", "1312"])
    }

    @Test func severalQuotasAreListedAndTheBindingOneIsShown() {
        let statuses = [QuotaStatus(limit: 10, remaining: 4, resetAfter: 100, window: 3600),
                        QuotaStatus(limit: 100, remaining: 0, resetAfter: 12.5, window: 60),
                        QuotaStatus(limit: 5, remaining: 0, resetAfter: 30, window: 0.25)]
        let fields = Dictionary(uniqueKeysWithValues: RateLimitHeaders.fields(routeName: "chat", statuses: statuses))
        #expect(fields["RateLimit-Policy"] == #""chat";q=10;w=3600, "chat-1";q=100;w=60, "chat-2";q=5;w=1"#)
        #expect(fields["RateLimit"] == #""chat";r=4;t=100, "chat-1";r=0;t=13, "chat-2";r=0;t=30"#)
        #expect(fields["X-RateLimit-Limit"] == "5")   // empty, and the longest wait of the empty ones
        #expect(fields["X-RateLimit-Remaining"] == "0")
        #expect(fields["X-RateLimit-Reset"] == "30")
    }

    @Test func onARefusalTheResetIsTheRetryAfter() {
        let store = MemoryQuotaStore(directory: nil)
        let rules = [QuotaFixture.rule(index: 0, limit: 1, per: 10), QuotaFixture.rule(index: 1, limit: 1, per: 100)]
        _ = store.acquire(rules, now: QuotaFixture.t0)
        let refused = store.acquire(rules, now: QuotaFixture.t0 + 0.4)
        let fields = Dictionary(uniqueKeysWithValues: RateLimitHeaders.fields(routeName: "r", statuses: refused.statuses))
        #expect(fields["X-RateLimit-Reset"] == QuotaFixture.retryAfter(refused).map(String.init))
        #expect(fields["X-RateLimit-Reset"] == "100")
    }

    @Test func theBytesAHeadGetsAreTheFieldsAsStrings() {
        let statuses = [QuotaStatus(limit: 10, remaining: 4, resetAfter: 100, window: 3600),
                        QuotaStatus(limit: 100, remaining: 0, resetAfter: 12.5, window: 60)]
        let names = statuses.indices.map { RateLimitHeaders.policyName(routeName: "chat", index: $0) }
        let policy = RateLimitHeaders.Policy(names: names, limits: statuses.map(\.limit), windows: statuses.map(\.window))
        var head = HTTPHeaders()
        RateLimitHeaders.add(policy: policy, statuses: statuses, to: &head)
        let strings = RateLimitHeaders.fields(policy: policy, statuses: statuses)
        #expect(head.fields.map(\.name) == strings.map(\.0))
        #expect(head.fields.map(\.value) == strings.map(\.1))
        // Statuses of other quotas than the policy's: the values are written afresh, still the same fields.
        var other = HTTPHeaders()
        RateLimitHeaders.add(policy: policy, statuses: [statuses[0]], to: &other)
        #expect(other.fields.map(\.value) == RateLimitHeaders.fields(policy: policy, statuses: [statuses[0]]).map(\.1))
    }

    @Test func namesAreStructuredFieldStrings() {
        #expect(RateLimitHeaders.policyName(routeName: #"a"b\c"#, index: 0) == #""a\"b\\c""#)
        #expect(RateLimitHeaders.policyName(routeName: "café", index: 2) == #""caf_-2""#)
        #expect(RateLimitHeaders.fields(routeName: "none", statuses: []).isEmpty)
    }

    /// The values are written as bytes now; every Int prints as String(Int) would.
    @Test func decimalsMatchTheStandardLibrary() {
        for n in [0, 1, 9, 10, 99, 100, 12345, -1, -10, 1_000_000_007, Int.max, Int.min] {
            #expect(RateLimitHeaders.decimal(n) == String(n))
        }
        // The buffer bound holds for the longest values: every quota at Int's extremes.
        let extreme = QuotaStatus(limit: Int.min, remaining: Int.max, resetAfter: 9e18, window: 9e18)
        let names = (0..<3).map { RateLimitHeaders.policyName(routeName: String(repeating: "r", count: 100), index: $0) }
        let fields = Dictionary(uniqueKeysWithValues: RateLimitHeaders.fields(policyNames: names, statuses: [extreme, extreme, extreme]))
        #expect(fields["RateLimit-Policy"]?.hasPrefix(names[0] + ";q=\(Int.min);w=9000000000000000000, ") == true)
        #expect(fields["RateLimit"]?.hasSuffix(names[2] + ";r=\(Int.max);t=9000000000000000000") == true)
    }

    /// A route makes its RateLimit-Policy value once; it is the value written afresh, used only
    /// for statuses of the quotas it was made for.
    @Test func aRoutesPolicyValueIsMadeOnceAndUsedOnlyForItsQuotas() {
        let names = (0..<2).map { RateLimitHeaders.policyName(routeName: "chat", index: $0) }
        let policy = RateLimitHeaders.Policy(names: names, limits: [10, 100], windows: [3600, 60])
        let statuses = [QuotaStatus(limit: 10, remaining: 3, resetAfter: 1311.2, window: 3600),
                        QuotaStatus(limit: 100, remaining: 99, resetAfter: 60, window: 60)]
        let fresh = RateLimitHeaders.fields(policyNames: names, statuses: statuses)
        let reused = RateLimitHeaders.fields(policy: policy, statuses: statuses)
        #expect(reused.map(\.0) == fresh.map(\.0) && reused.map(\.1) == fresh.map(\.1))
        #expect(policy.value(for: statuses) == #""chat";q=10;w=3600, "chat-1";q=100;w=60"#)
        var other = statuses
        other[1].limit = 50
        #expect(policy.value(for: other) == nil)
        #expect(RateLimitHeaders.fields(policy: policy, statuses: other).first?.1 == #""chat";q=10;w=3600, "chat-1";q=50;w=60"#)
    }
}
