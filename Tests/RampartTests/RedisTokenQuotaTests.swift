import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// Token quotas on Redis (SPEC §11.2): the Lua scripts decide exactly as the memory store does, two
/// replicas on one Redis see one total, and the admin view and reset cover token quotas too.
@Suite(.serialized)
struct RedisTokenQuotaTests {
    private func store(_ server: RedisServerProcess, on t: TestLoopThread) throws -> RedisQuotaStore {
        RedisQuotaStore(client: RedisClient(url: try RedisURL.parse(server.url), loop: t.loop))
    }

    private func acquire(_ s: RedisQuotaStore, _ t: TestLoopThread, _ rules: [QuotaRule], now: Double) async throws -> QuotaDecision {
        let r: Result<QuotaDecision, RedisError>? = await t.call { done in s.acquire(rules, now: now) { done($0) } }
        return try #require(r).get()
    }

    private func charge(_ s: RedisQuotaStore, _ t: TestLoopThread, _ rules: [QuotaRule], _ tokens: [Int], now: Double) async throws {
        let r: Result<Void, RedisError>? = await t.call { done in s.charge(rules, tokens: tokens, now: now) { done($0) } }
        try #require(r).get()
    }

    private func entries(_ s: RedisQuotaStore, _ t: TestLoopThread, _ identity: String, now: Double) async throws -> [String] {
        let r: Result<[(route: String, index: Int, used: Int)], RedisError>? = await t.call { done in s.entries(identity: identity, now: now) { done($0) } }
        return try #require(r).get().map { "\($0.route)/\($0.index)=\($0.used)" }
    }

    private static func tokens(_ identity: String = "user:u1", route: String = "chat", index: Int, limit: Int, per window: Double) -> QuotaRule {
        QuotaRule(key: QuotaKey(identity: identity, route: route, index: index), limit: limit, window: window, unit: .tokens)
    }

    /// Two replicas (two stores on two loops, one Redis): tokens charged through one refuse calls
    /// through the other, with the exact Retry-After; request-quota keys keep their layout.
    @Test func twoReplicasSeeOneTokenTotal() async throws {
        let server = try RedisServerProcess()
        let loops = [TestLoopThread(index: 0), TestLoopThread(index: 1)]
        let (a, b) = (try store(server, on: loops[0]), try store(server, on: loops[1]))
        await loops[0].sync { a.start() }
        await loops[1].sync { b.start() }
        let requests = QuotaRule(key: QuotaKey(identity: "user:u1", route: "chat", index: 0), limit: 100, window: 3600)
        let tokens = Self.tokens(index: 1, limit: 1000, per: 60)
        let t0 = 1_700_000_000.0
        #expect(try await acquire(a, loops[0], [requests, tokens], now: t0).isAllowed)
        try await charge(a, loops[0], [tokens], [600], now: t0 + 1)
        let half = try await acquire(b, loops[1], [requests, tokens], now: t0 + 2)
        #expect(half.isAllowed && half.statuses[1] == QuotaStatus(limit: 1000, remaining: 400, resetAfter: 59, window: 60))
        try await charge(b, loops[1], [tokens], [450], now: t0 + 3)
        let refused = try await acquire(a, loops[0], [requests, tokens], now: t0 + 4)
        #expect(refused == .limited(retryAfter: 57, [QuotaStatus(limit: 100, remaining: 98, resetAfter: 3596, window: 3600),
                                                     QuotaStatus(limit: 1000, remaining: 0, resetAfter: 57, window: 60)]),
                "1050 of 1000 used across both replicas; the refused call spent no request hit: \(refused)")
        #expect(try await entries(b, loops[1], "user:u1", now: t0 + 4) == ["chat/0=2", "chat/1=1050"], "the admin view counts tokens")
        #expect(try server.command(["ZCARD", "rampart:{user:u1}:chat:0"]) == .integer(2), "request hits where they always were")
        #expect(try await acquire(b, loops[1], [tokens], now: t0 + 61).isAllowed, "the 600 charged at +1 s left the window")
        // The admin reset clears token quotas too.
        let reset: Result<Int, RedisError>? = await loops[1].call { done in b.reset(identity: "user:u1", route: "chat") { done($0) } }
        #expect(try reset?.get() == 2)
        #expect(try await acquire(a, loops[0], [tokens], now: t0 + 62).statuses[0].remaining == 1000)
        await loops[0].sync { a.client.close() }
        await loops[1].sync { b.client.close() }
    }

    /// A random mix of checks and charges over request and token quotas decides identically on the
    /// memory store and on Redis (the scripts mirror `QuotaSlidingWindow` and `QuotaLog.roomAt`).
    @Test func decidesExactlyLikeTheMemoryStore() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let redis = try store(server, on: t)
        let memory = MemoryQuotaStore(directory: nil)
        var rng = SplitMix(seed: 17)
        var now = 1_700_000_000.0
        let requests = QuotaRule(key: QuotaKey(identity: "user:u1", route: "chat", index: 0), limit: 6, window: 20)
        let ruleSets: [[QuotaRule]] = [
            [Self.tokens(index: 1, limit: 500, per: 10)],
            [requests, Self.tokens(index: 1, limit: 500, per: 10), Self.tokens(index: 2, limit: 120, per: 3.5)],
            [Self.tokens("route", index: 3, limit: 2000, per: 30)],
        ]
        var mismatches = 0
        for step in 0..<500 {
            switch rng.next() % 8 {
            case 0: now += 10
            case 1: now += 0.001
            default: now += Double(rng.next() % 1200) / 1000
            }
            let rules = ruleSets[Int(rng.next() % UInt64(ruleSets.count))]
            let expected = memory.acquire(rules, now: now)
            let got = try await acquire(redis, t, rules, now: now)
            if got != expected {
                mismatches += 1
                Issue.record("step \(step) at \(now): redis \(got) != memory \(expected)")
                if mismatches > 5 { break }
            }
            if expected.isAllowed {
                let tokenRules = rules.filter { $0.unit == .tokens }
                let amounts = tokenRules.map { _ in Int(rng.next() % 200) }
                let at = now + Double(rng.next() % 900) / 1000   // charged when the call ends
                memory.charge(tokenRules, tokens: amounts, now: at)
                try await charge(redis, t, tokenRules, amounts, now: at)
            }
        }
        await t.sync { redis.client.close() }
    }
}
