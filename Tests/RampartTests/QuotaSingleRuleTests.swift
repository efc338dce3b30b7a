import Testing
@testable import RampartProxy
@testable import Rampart

/// The memory store decides a route's one quota on its log where it lies; that must be the same
/// decision, hit for hit, as the all-or-none decision over a list of rules.
@Suite struct QuotaSingleRuleTests {
    @Test func oneRuleDecidesAsTheListDoes() {
        let rule = QuotaFixture.rule(limit: 3, per: 10)
        var single = QuotaLog(), listed = [QuotaLog()]
        // Hits every 1.5 s for 30 s: allowed until the window holds 3, refused with the exact wait,
        // allowed again as the oldest hits leave the window.
        for step in 0..<20 {
            let nowMs = QuotaSlidingWindow.milliseconds(QuotaFixture.t0 + Double(step) * 1.5)
            let one = QuotaSlidingWindow.decide(rule, log: &single, nowMs: nowMs)
            let all = QuotaSlidingWindow.decide([rule], logs: &listed, nowMs: nowMs)
            #expect(one == all, "step \(step): \(one) vs \(all)")
        }
        #expect(single.total == listed[0].total)
    }

    /// Through the store: the fourth hit within the window is refused, and a key's log is found
    /// again on the next request (one shard lookup each time).
    @Test func theStoreCountsOneQuotaAcrossRequests() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = QuotaFixture.rule(limit: 3, per: 60)
        let decisions = (0..<4).map { store.acquire([rule], now: QuotaFixture.t0 + Double($0)) }
        #expect(decisions.prefix(3).allSatisfy { $0.isAllowed })
        #expect(QuotaFixture.retryAfter(decisions[3]) == 57)
        #expect(decisions[2].statuses.first?.remaining == 0)
        #expect(store.keyCount == 1)
    }
}
