import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// Token quotas (SPEC §11.2) on the memory store with manual times: a call is let in while the window's
/// tokens are under the limit, charges leave the window exactly `per` after they were made, and the
/// Retry-After is the exact wait until enough of them have left for the rest to be under the limit.
@Suite struct TokenQuotaWindowTests {
    typealias F = QuotaFixture

    static func tokens(_ identity: String = "user:u1", index: Int = 1, limit: Int, per window: Double) -> QuotaRule {
        QuotaRule(key: QuotaKey(identity: identity, route: "chat", index: index), limit: limit, window: window, unit: .tokens)
    }

    @Test func checkedBeforeChargedAfterWithAnExactRetryAfter() {
        let store = MemoryQuotaStore(directory: nil, clock: ManualClock(F.t0 + 61))   // the admin view's time
        let rule = Self.tokens(limit: 100, per: 60)
        // Checks record nothing: a thousand calls with no usage charged are all let in.
        for i in 0..<1000 { #expect(store.acquire([rule], now: F.t0 + Double(i) / 1000).isAllowed) }
        store.charge([rule], tokens: [40], now: F.t0 + 1)
        store.charge([rule], tokens: [50], now: F.t0 + 2)
        let under = store.acquire([rule], now: F.t0 + 3)
        #expect(under == .allowed([QuotaStatus(limit: 100, remaining: 10, resetAfter: 58, window: 60)]),
                "90 of 100 used: allowed, and the oldest charge leaves in 58 s")
        store.charge([rule], tokens: [30], now: F.t0 + 4)   // a call let in under the limit may overshoot it
        let spent = store.acquire([rule], now: F.t0 + 5)
        #expect(spent == .limited(retryAfter: 56, [QuotaStatus(limit: 100, remaining: 0, resetAfter: 56, window: 60)]),
                "120 used: when the 40 charged at +1 s leaves, 80 remain, under 100: \(spent)")
        #expect(!store.acquire([rule], now: F.t0 + 60.999).isAllowed, "1 ms early")
        let back = store.acquire([rule], now: F.t0 + 61)
        #expect(back == .allowed([QuotaStatus(limit: 100, remaining: 20, resetAfter: 1, window: 60)]))
        #expect(store.entries(identity: "user:u1").map(\.used) == [80])
    }

    /// One large charge can hold the window shut after smaller older ones left: the wait is for the
    /// charge whose departure brings the rest under the limit, not simply the oldest.
    @Test func retryAfterWaitsForAsManyChargesAsItTakes() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = Self.tokens(limit: 50, per: 60)
        store.charge([rule], tokens: [60], now: F.t0 + 1)
        store.charge([rule], tokens: [30], now: F.t0 + 2)
        store.charge([rule], tokens: [50], now: F.t0 + 3.5)
        // 140 used; without the 60: 80; without the 30 as well: 50, still not under 50; only 0 is.
        #expect(F.retryAfter(store.acquire([rule], now: F.t0 + 10)) == 54)   // 63.5 - 10, rounded up
        #expect(!store.acquire([rule], now: F.t0 + 63.499).isAllowed)
        #expect(store.acquire([rule], now: F.t0 + 63.5).isAllowed)
        // Pruned: once every charge has left, the key is forgotten.
        store.sweep()
        #expect(store.acquire([rule], now: F.t0 + 200).statuses == [QuotaStatus(limit: 50, remaining: 50, resetAfter: 0, window: 60)])
    }

    /// All or nothing, as for request quotas: a call refused by a token quota spends no request hit.
    @Test func aCallRefusedByItsTokenQuotaSpendsNoRequestQuota() {
        let store = MemoryQuotaStore(directory: nil)
        let requests = F.rule(route: "chat", index: 0, limit: 5, per: 3600)
        let tokens = Self.tokens(limit: 10, per: 60)
        #expect(store.acquire([requests, tokens], now: F.t0).isAllowed)
        store.charge([tokens], tokens: [10], now: F.t0 + 1)
        for i in 0..<10 {
            let d = store.acquire([requests, tokens], now: F.t0 + 2 + Double(i))
            #expect(F.retryAfter(d) == 59 - i)
            #expect(d.statuses[0].remaining == 4, "the refused calls left the request quota alone")
        }
        #expect(store.peek([requests], now: F.t0 + 20)[0].remaining == 4)
    }

    @Test func chargesSurviveARestartWithTheirTokens() throws {
        let dir = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(F.t0)
        let before = MemoryQuotaStore(directory: dir, clock: clock)
        let rule = Self.tokens(limit: 100, per: 60)
        let requests = F.rule(route: "chat", index: 0, limit: 5, per: 60)
        _ = before.acquire([requests, rule], now: F.t0)
        before.charge([rule], tokens: [70], now: F.t0)
        before.charge([rule], tokens: [45], now: F.t0 + 10)
        try before.persist()
        clock.set(F.t0 + 20)
        let after = MemoryQuotaStore(directory: dir, clock: clock)
        try after.restore()
        #expect(F.retryAfter(after.acquire([rule], now: F.t0 + 20)) == 40, "115 tokens came back, and when they were charged")
        #expect(after.peek([requests], now: F.t0 + 20)[0].remaining == 4)
        #expect(after.entries(identity: "user:u1").map(\.used) == [1, 115])
        clock.set(F.t0 + 65)   // the 70 left the window while the store was down
        let later = MemoryQuotaStore(directory: dir, clock: clock)
        try later.restore()
        #expect(later.peek([rule], now: F.t0 + 65)[0].remaining == 55)
    }

    @Test func eachKindCountsItsTokens() {
        let usage = TokenUsage(inputTokens: 10, outputTokens: 7, cacheReadTokens: 5, cacheWriteTokens: 2)
        #expect(QuotaConfig.Tokens.input.count(usage) == 17, "the whole prompt, cached or not")
        #expect(QuotaConfig.Tokens.output.count(usage) == 7)
        #expect(QuotaConfig.Tokens.total.count(usage) == 24)
    }

    @Test func rateLimitHeadersSpeakTokens() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = Self.tokens(index: 0, limit: 1000, per: 60)
        store.charge([rule], tokens: [1200], now: F.t0)
        let fields = RateLimitHeaders.fields(routeName: "chat", statuses: store.acquire([rule], now: F.t0 + 15).statuses)
        #expect(fields.map(\.1) == [#""chat";q=1000;w=60"#, #""chat";r=0;t=45"#, "1000", "0", "45"])
    }
}

/// `unit`/`tokens` in a route's quotas, their defaults and their errors with JSON paths; and a route
/// with token quotas counts usage (with estimates) even without `format`.
@Suite struct TokenQuotaConfigTests {
    static func quotas(_ list: String, format: String = "") -> String {
        ConfigFixture.route(#"{"name": "chat", "match": {"path": "/v1/messages"}, "quotas": "# + list + format + "}")
    }

    @Test func decodesUnitsAndKinds() throws {
        let config = try ConfigFixture.load(Self.quotas(#"[{"limit": 10, "per": "1h"}, {"limit": 50000, "per": "1m", "unit": "tokens"},"#
            + #" {"limit": 900, "per": "1d", "unit": "tokens", "tokens": "output", "key": "route"}]"#))
        let q = config.routes[0].quotas
        #expect(q.map(\.unit) == [.requests, .tokens, .tokens])
        #expect(q.map(\.tokens) == [.total, .total, .output])
        #expect(q[2].key == .route && q[2].limit == 900)
    }

    @Test func badValuesFailWithTheirPath() {
        let unit = ConfigFixture.errors(Self.quotas(#"[{"limit": 10, "per": "1m", "unit": "bytes"}]"#))
        #expect(unit.contains { $0.contains("routes[0].quotas[0].unit") && $0.contains("requests, tokens") }, "\(unit)")
        let kind = ConfigFixture.errors(Self.quotas(#"[{"limit": 1, "per": "1h"}, {"limit": 10, "per": "1m", "unit": "tokens", "tokens": "prompt"}]"#))
        #expect(kind.contains { $0.contains("routes[0].quotas[1].tokens") && $0.contains("input, output, total") }, "\(kind)")
        let orphan = ConfigFixture.errors(Self.quotas(#"[{"limit": 10, "per": "1m", "tokens": "input"}]"#))
        #expect(orphan.contains { $0.contains("routes[0].quotas[0].tokens") && $0.contains("\"unit\": \"tokens\"") }, "\(orphan)")
        let unknown = ConfigFixture.errors(Self.quotas(#"[{"limit": 10, "per": "1m", "unit": "tokens", "kind": "input"}]"#))
        #expect(unknown.contains { $0.contains("routes[0].quotas[0].kind") }, "\(unknown)")
        let zero = ConfigFixture.errors(Self.quotas(#"[{"limit": 0, "per": "1m", "unit": "tokens"}]"#))
        #expect(zero.contains { $0.contains("routes[0].quotas[0].limit") }, "\(zero)")
    }

    @Test func aRouteWithTokenQuotasAlwaysCountsUsage() throws {
        let config = try ConfigFixture.load(Self.quotas(#"[{"limit": 100, "per": "1m", "unit": "tokens"}]"#))
        let chain = RoutePolicies.build(for: config.routes[0], config: config, services: RouteServices(jwt: nil, usage: nil))
        let counting = chain.filters.compactMap { $0 as? UsageCounting }
        #expect(counting.map(\.aiRoute) == [true], "estimates are charged when usage cannot be read")
        #expect(chain.end.contains { $0 is QuotaPolicy }, "the quota filter charges at the end")
        let plain = try ConfigFixture.load(Self.quotas(#"[{"limit": 100, "per": "1m"}]"#))
        let plainChain = RoutePolicies.build(for: plain.routes[0], config: plain, services: RouteServices(jwt: nil, usage: nil))
        #expect(plainChain.end.isEmpty && !plainChain.filters.contains { $0 is UsageCounting },
                "request quotas alone cost nothing at the end of a request")
    }
}
