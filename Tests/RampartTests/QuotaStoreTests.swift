import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Dispatch
import Testing
@testable import Rampart

@Suite struct QuotaStoreTests {
    typealias F = QuotaFixture

    @Test func aRequestSpendsFromAllItsQuotasOrFromNone() {
        let store = MemoryQuotaStore(directory: nil, clock: ManualClock(F.t0))
        let perUser = F.rule("user:u1", index: 0, limit: 5, per: 60)
        let global = F.rule("route", index: 1, limit: 2, per: 60)   // another identity: usually another shard
        #expect(store.acquire([perUser, global], now: F.t0).isAllowed)
        #expect(store.acquire([perUser, global], now: F.t0 + 1).isAllowed)
        let refused = store.acquire([perUser, global], now: F.t0 + 2)
        #expect(F.retryAfter(refused) == 58)
        #expect(refused.statuses.map(\.remaining) == [3, 0])   // the user's quota was not charged
        #expect(store.entries(identity: "user:u1").map(\.used) == [2])
        #expect(store.peek([perUser, global], now: F.t0 + 2).map(\.remaining) == [3, 0])
    }

    @Test func retryAfterIsTheTrueWait() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = F.rule(limit: 3, per: 60)
        for t in [0.0, 10.3, 20.7] { #expect(store.acquire([rule], now: F.t0 + t).isAllowed) }
        let now = F.t0 + 30.4
        let refused = store.acquire([rule], now: now)
        #expect(F.retryAfter(refused) == 30)   // the first hit leaves at 60.0: 29.6 s, rounded up
        #expect(refused.statuses == [QuotaStatus(limit: 3, remaining: 0, resetAfter: 29.6, window: 60)])
        #expect(F.retryAfter(store.acquire([rule], now: now + 29)) == 1)   // one second less: still refused
        #expect(store.acquire([rule], now: now + 30).isAllowed)             // exactly the wait: admitted
    }

    /// From random states: waiting exactly Retry-After succeeds, a second less fails.
    @Test(arguments: 0..<30) func retryAfterIsExactFromRandomStates(seed: Int) {
        var random = QuotaRandom(state: UInt64(500 + seed))
        let rules = [F.rule(index: 0, limit: random.int(1...4), per: Double(random.int(2...90))),
                     F.rule("route", index: 1, limit: random.int(2...8), per: Double(random.int(2...300)))]
        let store = MemoryQuotaStore(directory: nil)
        var t = F.t0
        var refusal: (now: Double, seconds: Int)?
        while refusal == nil {
            t += Double(random.int(0...5000)) / 1000
            if let seconds = F.retryAfter(store.acquire(rules, now: t)) { refusal = (t, seconds) }
        }
        guard let (now, seconds) = refusal else { return }
        #expect(seconds >= 1)
        if seconds >= 2 { #expect(!store.acquire(rules, now: now + Double(seconds - 1)).isAllowed) }
        #expect(store.acquire(rules, now: now + Double(seconds)).isAllowed, "seed \(seed)")
    }

    @Test func severalRefusingQuotasAskForTheLongestWait() {
        let store = MemoryQuotaStore(directory: nil)
        let short = F.rule(index: 0, limit: 1, per: 10)
        let long = F.rule(index: 1, limit: 1, per: 100)
        #expect(store.acquire([short, long], now: F.t0).isAllowed)
        let refused = store.acquire([short, long], now: F.t0 + 1)
        #expect(F.retryAfter(refused) == 99)
        #expect(refused.statuses.map(\.resetAfter) == [9, 99])
    }

    @Test func statusesAfterAnAdmission() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = F.rule(limit: 10, per: 3600)
        #expect(store.peek([rule], now: F.t0) == [QuotaStatus(limit: 10, remaining: 10, resetAfter: 0, window: 3600)])
        _ = store.acquire([rule], now: F.t0)
        let second = store.acquire([rule], now: F.t0 + 100)
        #expect(second == .allowed([QuotaStatus(limit: 10, remaining: 8, resetAfter: 3500, window: 3600)]))
    }

    @Test func aRefusedStrangerLeavesNoEntry() {
        let store = MemoryQuotaStore(directory: nil)
        _ = store.acquire([F.rule("user:nobody", limit: 0, per: 60)], now: F.t0)
        _ = store.peek([F.rule("user:other", limit: 5, per: 60)], now: F.t0)
        #expect(store.keyCount == 0)
    }

    @Test func duplicateKeysAreCountedOnce() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = F.rule(limit: 2, per: 60)
        #expect(store.acquire([rule, rule], now: F.t0).isAllowed)
        #expect(store.acquire([rule], now: F.t0).isAllowed)
        #expect(!store.acquire([rule], now: F.t0).isAllowed)
    }

    @Test func resetAndEntriesForAdmin() {
        let clock = ManualClock(F.t0)
        let store = MemoryQuotaStore(directory: nil, clock: clock)
        let chat = F.rule(route: "chat", limit: 50, per: 3600)
        let chapterA = F.rule(route: "generate-chapter", index: 0, limit: 10, per: 3600)
        let chapterB = F.rule(route: "generate-chapter", index: 1, limit: 3, per: 60)
        for _ in 0..<3 { _ = store.acquire([chat], now: F.t0) }
        _ = store.acquire([chapterA, chapterB], now: F.t0)
        _ = store.acquire([F.rule("user:u2", limit: 5, per: 3600)], now: F.t0)
        let listed = store.entries(identity: "user:u1").map { "\($0.route)/\($0.index)=\($0.used)" }
        #expect(listed == ["chat/0=3", "generate-chapter/0=1", "generate-chapter/1=1"])
        clock.advance(by: 60)   // the 1-minute quota's hit has left its window
        #expect(store.entries(identity: "user:u1").count == 2)
        store.reset(identity: "user:u1", route: "chat")
        #expect(store.entries(identity: "user:u1").map(\.route) == ["generate-chapter"])
        store.reset(identity: "user:u1", route: nil)
        #expect(store.entries(identity: "user:u1").isEmpty)
        #expect(store.entries(identity: "user:u2").count == 1)
        #expect(store.acquire([chapterA], now: F.t0 + 60) == .allowed([QuotaStatus(limit: 10, remaining: 9,
                                                                                   resetAfter: 3600, window: 3600)]))
    }

    /// Worker loops share one store: however many threads race on a key, exactly `limit` get through.
    @Test func manyThreadsOnOneKeyAdmitExactlyLimit() {
        let store = MemoryQuotaStore(directory: nil)
        let rule = F.rule(limit: 500, per: 3600)
        let admitted = QuotaCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1000 where store.acquire([rule], now: F.t0).isAllowed { admitted.add() }
        }
        #expect(admitted.count == 500)
    }

    /// Requests spanning two shards (their user and the route-global quota) stay all-or-none under a race,
    /// and locking shards in one order cannot deadlock.
    @Test func racingRequestsAcrossShardsStayAllOrNone() {
        let store = MemoryQuotaStore(directory: nil, clock: ManualClock(F.t0))
        let admitted = QuotaCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<2000 {
                let user = "user:u\((worker * 7 + i) % 40)"
                let rules = [F.rule(user, index: 0, limit: 5, per: 3600), F.rule("route", index: 1, limit: 150, per: 3600)]
                if store.acquire(rules, now: F.t0).isAllowed { admitted.add() }
            }
        }
        #expect(admitted.count == 150)
        let perUser = (0..<40).map { store.entries(identity: "user:u\($0)").first?.used ?? 0 }
        #expect(perUser.reduce(0, +) == 150)
        #expect(perUser.allSatisfy { $0 <= 5 })
    }

    @Test func expiredLogsAreSwept() throws {
        let clock = ManualClock(F.t0)
        let store = MemoryQuotaStore(directory: nil, clock: clock)
        for i in 0..<5000 { _ = store.acquire([F.rule("user:u\(i)", limit: 10, per: 60)], now: F.t0) }
        #expect(store.keyCount == 5000)
        clock.advance(by: 59.999)
        try store.persist()   // without a directory: a sweep
        #expect(store.keyCount == 5000)
        clock.advance(by: 0.001)
        // Traffic alone sweeps too: each shard looks again a minute after its last sweep.
        for i in 0..<3000 { _ = store.acquire([F.rule("user:new\(i)", limit: 10, per: 60)], now: clock.now()) }
        #expect(store.keyCount < 5000)
        try store.persist()
        #expect(store.keyCount == 3000)
    }

    @Test func theKeyCapEvictsTheSoonestExpiring() {
        let store = MemoryQuotaStore(directory: nil, maxKeys: 640, clock: ManualClock(F.t0 + 10_000))
        for i in 0..<10_000 {
            _ = store.acquire([F.rule("user:u\(i)", limit: 10, per: 3600)], now: F.t0 + Double(i))
            #expect(store.keyCount <= 640 + 64)
        }
        #expect(store.keyCount <= 640)
        #expect(store.entries(identity: "user:u9999").first?.used == 1)   // the newest survive
        #expect(store.entries(identity: "user:u0").isEmpty)               // the oldest went first
    }

    @Test func keysRenderWithTheIdentityAsRedisHashTag() {
        #expect(QuotaKey(identity: "user:u1", route: "generate-chapter", index: 0).description
            == "rampart:{user:u1}:generate-chapter:0")
    }

    @Test func rulesFromConfigFallBackToTheIPForAnonymousUsers() {
        let quotas = [QuotaConfig(limit: 10, per: .seconds(3600), key: .user),
                      QuotaConfig(limit: 5, per: .milliseconds(1500), key: .ip),
                      QuotaConfig(limit: 100, per: .seconds(60), key: .route)]
        let signedIn = QuotaRule.rules(for: quotas, route: "r", user: "u1", ip: "1.2.3.4")
        #expect(signedIn.map(\.key.description) == ["rampart:{user:u1}:r:0", "rampart:{ip:1.2.3.4}:r:1", "rampart:{route}:r:2"])
        #expect(signedIn.map(\.window) == [3600, 1.5, 60])
        let anonymous = QuotaRule.rules(for: quotas, route: "r", user: nil, ip: "1.2.3.4")
        #expect(anonymous[0].key.identity == "ip:1.2.3.4")
    }
}
