import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// Per-key windows, budgets and Retry-After, cumulative counters and memory bounds, on an injected clock.
@Suite struct UsageLedgerTests {
    /// A minute boundary, so bucket arithmetic in the expectations is easy to follow.
    static let t0 = 1_700_000_040.0
    static let u = TokenUsage(model: "m", inputTokens: 10, outputTokens: 5, cacheReadTokens: 2, cacheWriteTokens: 1)

    @Test func everyoneTogetherPerModel() {
        let ledger = UsageLedger(maxKeys: 1)
        ledger.record(key: "user:u1", route: "chat", model: "a", usage: Self.u, cost: 1, now: Self.t0 - 7200)
        ledger.record(key: "user:u2", route: "chat", model: "a", usage: Self.u, cost: 2, now: Self.t0 - 60)
        ledger.record(key: "user:u3", route: "gen", model: "b", usage: Self.u, cost: 4, now: Self.t0)
        let t = ledger.totalsForEveryone(windows: [3600, 86_400], now: Self.t0 + 1)
        #expect(t[0].perModel["a"]?.usd == 2 && t[0].perModel["b"]?.usd == 4)
        #expect(t[1].perModel["a"]?.requests == 2, "keys evicted by the cap still count for everyone")
        #expect(t[1].total.usd == 7 && t[1].total.inputTokens == 30)
    }

    @Test func windowsSumPerModel() {
        let ledger = UsageLedger()
        ledger.record(key: "user:u1", route: "chat", model: "a", usage: Self.u, cost: 1, now: Self.t0 - 7200)
        ledger.record(key: "user:u1", route: "chat", model: "a", usage: Self.u, cost: 2, now: Self.t0 - 60)
        ledger.record(key: "user:u1", route: "chat", model: "b", usage: Self.u, cost: nil, now: Self.t0)
        ledger.record(key: "user:u2", route: "chat", model: "a", usage: Self.u, cost: 50, now: Self.t0)

        let t = ledger.totals(key: "user:u1", windows: [3600, 86_400], now: Self.t0 + 1)
        #expect(t.map(\.window) == [3600, 86_400])
        #expect(t[0].perModel["a"]?.requests == 1)
        #expect(t[0].perModel["a"]?.usd == 2)
        #expect(t[0].perModel["b"]?.usd == 0)
        #expect(t[0].perModel["b"]?.inputTokens == 10)
        #expect(t[1].perModel["a"]?.requests == 2)
        #expect(t[1].perModel["a"]?.usd == 3)
        #expect(t[1].total.requests == 3)
        #expect(t[1].total.cacheWriteTokens == 3)
        #expect(ledger.totals(key: "user:nobody", windows: [60], now: Self.t0)[0].perModel.isEmpty)
    }

    @Test func spentCountsOnlyTheWindow() {
        let ledger = UsageLedger()
        ledger.record(key: "k", route: "r", model: "m", usage: Self.u, cost: 1.5, now: Self.t0)
        ledger.record(key: "k", route: "r", model: "m", usage: Self.u, cost: 2.0, now: Self.t0 + 1800)
        #expect(ledger.spent(key: "k", window: 3600, now: Self.t0 + 1800) == 3.5)
        // The first bucket ends at t0+60, so it leaves an hour's window at t0+3660.
        #expect(ledger.spent(key: "k", window: 3600, now: Self.t0 + 3659) == 3.5)
        #expect(ledger.spent(key: "k", window: 3600, now: Self.t0 + 3660) == 2.0)
        #expect(ledger.spent(key: "other", window: 3600, now: Self.t0) == 0)
    }

    @Test func retryAfterWaitsUntilEnoughSpendLeaves() {
        let ledger = UsageLedger()
        ledger.record(key: "k", route: "r", model: "m", usage: Self.u, cost: 3, now: Self.t0 + 10)
        ledger.record(key: "k", route: "r", model: "m", usage: Self.u, cost: 3, now: Self.t0 + 600)
        let now = Self.t0 + 900
        #expect(ledger.budgetRetryAfter(key: "k", window: 3600, limit: 10, now: now) == nil)
        // 6 ≥ 5: dropping the first 3 (its bucket ends t0+60, gone at t0+3660) gets under.
        #expect(ledger.budgetRetryAfter(key: "k", window: 3600, limit: 5, now: now) == 3660 - 900)
        // Limit 2: both buckets must leave; the second ends at t0+660 → gone at t0+4260.
        #expect(ledger.budgetRetryAfter(key: "k", window: 3600, limit: 2, now: now) == 4260 - 900)
        // Exactly at the limit counts as over (no further spending allowed).
        #expect(ledger.budgetRetryAfter(key: "k", window: 3600, limit: 6, now: now) != nil)
        // And once the time has passed, the key is under budget again.
        #expect(ledger.budgetRetryAfter(key: "k", window: 3600, limit: 5, now: Self.t0 + 3660) == nil)
        #expect(ledger.budgetRetryAfter(key: "k", window: 3600, limit: 5, now: Self.t0 + 3659.5) == 1)
        #expect(ledger.budgetRetryAfter(key: "new", window: 3600, limit: 0, now: now) == 3600)
    }

    @Test func countersAccumulatePerRouteAndModel() {
        let ledger = UsageLedger()
        ledger.record(key: "a", route: "chat", model: "m1", usage: Self.u, cost: 1, now: Self.t0)
        ledger.record(key: "b", route: "chat", model: "m1", usage: Self.u, cost: 1, now: Self.t0 + 200_000)
        ledger.record(key: "a", route: "summarise", model: "m2", usage: Self.u, cost: nil, now: Self.t0)
        let c = ledger.snapshotCounters()
        #expect(c.map(\.route) == ["chat", "summarise"])
        #expect(c[0].model == "m1" && c[0].totals.requests == 2 && c[0].totals.usd == 2 && c[0].totals.outputTokens == 10)
        #expect(c[1].totals.usd == 0 && c[1].totals.inputTokens == 10)
    }

    @Test func oldBucketsAreDropped() {
        let ledger = UsageLedger(horizon: 3600)
        ledger.record(key: "k", route: "r", model: "m", usage: Self.u, cost: 1, now: Self.t0)
        ledger.record(key: "k", route: "r", model: "m", usage: Self.u, cost: 1, now: Self.t0 + 7200)
        let t = ledger.totals(key: "k", windows: [1e9], now: Self.t0 + 7200)
        #expect(t[0].total.requests == 1)
        ledger.ensureHorizon(86_400)
        #expect(ledger.horizon == 86_400)
        ledger.ensureHorizon(60)
        #expect(ledger.horizon == 86_400)
    }

    @Test func keysAreCappedKeepingTheMostRecent() {
        let ledger = UsageLedger(maxKeys: 10)
        for i in 0..<25 {
            ledger.record(key: "user:\(i)", route: "r", model: "m", usage: Self.u, cost: 1, now: Self.t0 + Double(i))
        }
        #expect(ledger.keyCount <= 10)
        #expect(ledger.spent(key: "user:24", window: 60, now: Self.t0 + 30) == 1)
        #expect(ledger.spent(key: "user:0", window: 60, now: Self.t0 + 30) == 0)
    }

    @Test func modelNamesAreCapped() {
        let ledger = UsageLedger(maxModels: 2)
        for name in ["a", "b", "c", "d", ""] {
            ledger.record(key: "k", route: "r", model: name, usage: Self.u, cost: 1, now: Self.t0)
        }
        let models = Set(ledger.totals(key: "k", windows: [60], now: Self.t0)[0].perModel.keys)
        #expect(models == ["a", "b", UsageLedger.overflowModel])
        #expect(ledger.snapshotCounters().count == 3)
    }

    @Test func idleKeysAreSweptAfterTheHorizon() {
        let ledger = UsageLedger(horizon: 60)
        for i in 0..<100 {
            ledger.record(key: "user:\(i)", route: "r", model: "m", usage: Self.u, cost: 1, now: Self.t0)
        }
        for i in 0..<4096 {
            ledger.record(key: "late", route: "r", model: "m", usage: Self.u, cost: 0, now: Self.t0 + 1000 + Double(i) / 100)
        }
        #expect(ledger.keyCount == 1)
    }

    @Test func concurrentRecordsAreAllCounted() {
        let ledger = UsageLedger()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<500 {
                ledger.record(key: "user:\(i % 4)", route: "r\(worker % 2)", model: "m", usage: Self.u, cost: 0.5,
                              now: Self.t0 + Double(i))
            }
        }
        let total = (0..<4).reduce(0.0) { $0 + ledger.spent(key: "user:\($1)", window: 3600, now: Self.t0 + 600) }
        #expect(total == 8 * 500 * 0.5)
        #expect(ledger.snapshotCounters().reduce(0) { $0 + $1.totals.requests } == 4000)
    }

    /// A key busy every minute of a day holds a few dozen buckets, not 1,440 (the soak's slow growth),
    /// and merging never lets spending leave a window early: each window's sum is at least the exact
    /// one and late by at most one bucket of the tier at the window's edge.
    @Test func aBusyDayMergesIntoWiderBucketsWithoutReleasingSpendEarly() {
        let ledger = UsageLedger()
        var times: [Double] = []
        for i in 0..<1440 {
            let now = Self.t0 + Double(i) * 60 + 5
            ledger.record(key: "k", route: "r", model: "m", usage: Self.u, cost: 1, now: now)
            times.append(now)
            guard i % 37 == 0 || i == 1439 else { continue }
            // (window, most calls a bucket at its edge can hold: 1 per minute of its width)
            for (window, late) in [(60.0, 1.0), (600, 5), (3600, 15), (21_600, 60), (86_400, 60)] {
                let exact = Double(times.filter { $0 > now + 1 - window }.count)
                let seen = ledger.spent(key: "k", window: window, now: now + 1)
                #expect(seen >= exact && seen <= exact + late, "window \(window) at minute \(i): \(seen) vs \(exact)")
            }
        }
        #expect(ledger.bucketCount(key: "k") <= 60)
        #expect(ledger.spent(key: "k", window: 86_400, now: times.last! + 1) == 1440, "nothing lost in merging")
        #expect(ledger.totalsForEveryone(windows: [86_400], now: times.last! + 1)[0].total.requests == 1440)
    }
}
