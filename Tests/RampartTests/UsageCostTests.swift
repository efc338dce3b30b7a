import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Dollars from `usage.prices`: dated model names find their family, cache tokens priced when configured.
@Suite struct UsageCostTests {
    static let prices: [String: PriceConfig] = [
        "claude-sonnet-4-5": UsageFixture.price(3, 15, read: 0.3, write: 3.75),
        "claude-sonnet-4": UsageFixture.price(100, 100),
        "gpt-4o": UsageFixture.price(2.5, 10),
        "gpt-4o-mini": UsageFixture.price(0.15, 0.6),
    ]

    @Test func exactName() {
        let u = TokenUsage(model: "gpt-4o-mini", inputTokens: 1_000_000, outputTokens: 2_000_000)
        let cost = UsageCost.cost(u, prices: Self.prices)
        #expect(cost.map { abs($0 - 1.35) < 1e-12 } == true)
    }

    @Test func longestPrefixWins() {
        let p = UsageCost.price(for: "claude-sonnet-4-5-20250929", in: Self.prices)
        #expect(p?.inputPerMtok == 3)
        #expect(UsageCost.price(for: "claude-sonnet-4-20250514", in: Self.prices)?.inputPerMtok == 100)
        #expect(UsageCost.price(for: "gpt-4o-mini-2024-07-18", in: Self.prices)?.inputPerMtok == 0.15)
        #expect(UsageCost.price(for: "claude-opus-4", in: Self.prices) == nil)
    }

    @Test func cachePricesWhenConfigured() throws {
        let cost = try #require(UsageCost.cost(UsageFixture.anthropicUsage, prices: Self.prices))
        // 25 input × 3 + 15 output × 15 + 2000 read × 0.3 + 100 write × 3.75, per million.
        let micro: Double = 25 * 3 + 15 * 15 + 2000 * 0.3 + 100 * 3.75
        let expected = micro / 1_000_000
        #expect(abs(cost - expected) < 1e-15)
    }

    @Test func cacheTokensFallBackToInputPrice() throws {
        let cost = try #require(UsageCost.cost(UsageFixture.openAIUsage, prices: Self.prices))
        // gpt-4o has no cache prices: 176 + 1024 input-priced tokens at 2.5, 42 output at 10.
        let micro: Double = 1200 * 2.5 + 42 * 10
        #expect(abs(cost - micro / 1_000_000) < 1e-15)
    }

    @Test func unknownOrMissingModelHasNoCost() {
        #expect(UsageCost.cost(TokenUsage(model: "llama-3", inputTokens: 5), prices: Self.prices) == nil)
        #expect(UsageCost.cost(TokenUsage(model: nil, inputTokens: 5), prices: Self.prices) == nil)
        #expect(UsageCost.cost(TokenUsage(model: "gpt-4o", inputTokens: 5), prices: [:]) == nil)
    }

    @Test func emptyKeyIsACatchAll() {
        let prices = ["": UsageFixture.price(1, 1), "gpt-4o": UsageFixture.price(2, 2)]
        #expect(UsageCost.price(for: "anything", in: prices)?.inputPerMtok == 1)
        #expect(UsageCost.price(for: "gpt-4o-x", in: prices)?.inputPerMtok == 2)
    }
}
