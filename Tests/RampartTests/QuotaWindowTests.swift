import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Exactness at window edges: the sliding-window log admits at most `limit` in any window of length
/// `per`, and (being exact rather than merely safe) refuses only when a window really is full.
@Suite struct QuotaWindowTests {
    typealias F = QuotaFixture

    @Test func burstsOnBothSidesOfAnHourBoundaryAdmitOnlyLimit() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = F.rule(limit: 10, per: 3600)
        let boundary = 1_700_002_800.0   // a multiple of 3600: where a fixed window would reset
        for i in 0..<10 {
            #expect(store.acquire([rule], now: boundary - 0.010 + Double(i) * 0.001).isAllowed)
        }
        // A fixed window would hand out 10 more here; a sliding window must refuse all of them.
        for i in 0..<20 {
            let decision = store.acquire([rule], now: boundary + Double(i) * 0.5)
            #expect(!decision.isAllowed)
        }
        #expect(!store.acquire([rule], now: boundary - 0.010 + 3599.999).isAllowed)   // 1 ms early
        #expect(store.acquire([rule], now: boundary - 0.010 + 3600).isAllowed)        // first hit just left
        #expect(!store.acquire([rule], now: boundary - 0.010 + 3600).isAllowed)       // its slot is taken again
        #expect(store.acquire([rule], now: boundary - 0.009 + 3600).isAllowed)        // second hit left
    }

    /// Many random schedules (bursts near window edges, quiet spells, random limits and windows): the
    /// admitted times never put more than `limit` into any window of length `per`, and every refusal
    /// happened with the window already holding `limit`.
    @Test(arguments: 0..<40) func randomSchedulesNeverOverAdmit(seed: Int) {
        var random = QuotaRandom(state: UInt64(seed))
        let limit = random.int(1...12)
        let windowMs = random.int(1...30) * 1000 + random.int(0...1) * random.int(1...999)
        let store = MemoryQuotaStore(directory: nil)
        let rule = F.rule(limit: limit, per: Double(windowMs) / 1000)
        var t = 0
        var admitted: [Int] = []
        for _ in 0..<600 {
            switch random.int(0...9) {
            case 0: t += windowMs - random.int(0...5)          // jump to just before the next edge
            case 1: t += random.int(0...windowMs * 2)          // a quiet spell
            default: t += random.int(0...3)                    // a burst
            }
            let now = F.t0 + Double(t) / 1000
            let inWindow = admitted.filter { t - $0 < windowMs }.count
            if store.acquire([rule], now: now).isAllowed {
                #expect(inWindow < limit, "seed \(seed): admitted at \(t) with \(inWindow) in the window")
                admitted.append(t)
            } else {
                #expect(inWindow == limit, "seed \(seed): refused at \(t) with only \(inWindow) in the window")
            }
        }
        for (i, start) in admitted.enumerated() {
            let count = admitted[i...].prefix { $0 - start < windowMs }.count
            #expect(count <= limit, "seed \(seed): \(count) admitted in [\(start), \(start + windowMs)) ms")
        }
    }

    @Test(arguments: 0..<10) func randomSchedulesWithTwoQuotasHoldBoth(seed: Int) {
        var random = QuotaRandom(state: UInt64(1000 + seed))
        let rules = [F.rule(index: 0, limit: random.int(1...5), per: Double(random.int(1...5))),
                     F.rule(index: 1, limit: random.int(5...20), per: Double(random.int(10...60)))]
        let store = MemoryQuotaStore(directory: nil)
        var t = 0
        var admitted: [Int] = []
        for _ in 0..<800 {
            t += random.int(0...9) == 0 ? random.int(0...20_000) : random.int(0...50)
            let full = rules.contains { rule in
                admitted.filter { t - $0 < Int(rule.window * 1000) }.count >= rule.limit
            }
            let allowed = store.acquire(rules, now: F.t0 + Double(t) / 1000).isAllowed
            #expect(allowed == !full, "seed \(seed) at \(t) ms")
            if allowed { admitted.append(t) }
        }
    }

    @Test func logRingGrowsAndWrapsInOrder() {
        var log = QuotaLog()
        let rule = F.rule(limit: 7, per: 10)
        var logs = [log]
        for i in 0..<40 {   // admitted every 2 s: at most 5 live, the ring wraps many times
            _ = QuotaSlidingWindow.decide([rule], logs: &logs, nowMs: Int64(i) * 2000)
        }
        log = logs[0]
        #expect(log.stamps == [70_000, 72_000, 74_000, 76_000, 78_000])
        #expect(log.expiresAt == 88_000)
    }

    @Test func hugeWindowsRebaseConservatively() {
        var log = QuotaLog()
        log.prune(nowMs: 0, windowMs: 100 * 86_400_000)
        log.record(0, limit: 3)
        log.record(60 * 86_400_000, limit: 3)   // 60 days later: beyond a UInt32 of milliseconds
        #expect(log.count == 2)
        #expect(log.stamps[1] == 60 * 86_400_000)
        #expect(log.stamps[0] >= 0)             // moved later (counts longer), never earlier
    }

    @Test func clockSteppedBackNeverReordersTheLog() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = F.rule(limit: 2, per: 10)
        #expect(store.acquire([rule], now: F.t0 + 5).isAllowed)
        #expect(store.acquire([rule], now: F.t0 + 1).isAllowed)   // counted at +5
        #expect(F.retryAfter(store.acquire([rule], now: F.t0 + 1)) == 14)
        #expect(store.acquire([rule], now: F.t0 + 15).isAllowed)
    }
}
