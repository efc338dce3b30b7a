import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// `MemoryQuotaStore.top`: the most used live counters across shards, expired hits not counted.
@Suite struct QuotaTopTests {
    typealias F = QuotaFixture

    @Test func mostUsedFirstAcrossShardsWithExpiredHitsLeftOut() {
        let store = MemoryQuotaStore(directory: nil)
        for (user, hits) in [("a", 3), ("b", 7), ("c", 1), ("d", 5)] {
            for i in 0..<hits { #expect(store.acquire([F.rule("user:\(user)", limit: 100, per: 60)], now: F.t0 + Double(i)).isAllowed) }
        }
        #expect(store.acquire([F.rule("user:a", route: "chat", limit: 10, per: 10)], now: F.t0).isAllowed)
        let top = store.top(limit: 3, route: nil, now: F.t0 + 20)
        #expect(top.uses.map(\.identity) == ["user:b", "user:d", "user:a"])
        #expect(top.uses.map(\.used) == [7, 5, 3])
        #expect(top.complete && top.scannedKeys == 5)
        // a's chat hit left its 10 s window; b's first hits leave the 60 s window later.
        #expect(store.top(limit: 10, route: "chat", now: F.t0 + 20).uses.isEmpty)
        #expect(store.top(limit: 10, route: "chat", now: F.t0 + 5).uses == [QuotaUse(identity: "user:a", route: "chat", index: 0, used: 1)])
        #expect(store.top(limit: 1, route: nil, now: F.t0 + 63).uses.first?.used == 3, "b's hits at t0…t0+3 have left")
    }

    @Test func tiesKeepAStableOrder() {
        let uses = [QuotaUse(identity: "user:z", route: "r", index: 0, used: 2), QuotaUse(identity: "user:a", route: "r", index: 1, used: 2),
                    QuotaUse(identity: "user:a", route: "r", index: 0, used: 2)]
        #expect(QuotaTop.best(uses, limit: 2).map { "\($0.identity)/\($0.index)" } == ["user:a/0", "user:a/1"])
    }

    @Test func redisIndexKeysNameTheirIdentity() {
        #expect(RedisQuotaStore.identity(ofIndexKey: "rampart:{user:u1}:quota-index") == "user:u1")
        #expect(RedisQuotaStore.identity(ofIndexKey: "rampart:{ip:10.0.0.1}:quota-index") == "ip:10.0.0.1")
        #expect(RedisQuotaStore.identity(ofIndexKey: "rampart:{}:quota-index") == nil)
        #expect(RedisQuotaStore.identity(ofIndexKey: "rampart:{user:u1}:chat:0") == nil)
    }
}
