import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Synchronization
import Testing
@testable import Rampart

@Suite(.serialized)
struct RedisQuotaStoreTests {
    typealias Decided = Result<QuotaDecision, RedisError>

    private func store(_ server: RedisServerProcess, on t: TestLoopThread) throws -> RedisQuotaStore {
        RedisQuotaStore(client: RedisClient(url: try RedisURL.parse(server.url), loop: t.loop))
    }

    private func rule(_ identity: String = "user:u1", route: String = "chat", index: Int = 0, limit: Int, window: Double) -> QuotaRule {
        QuotaRule(key: QuotaKey(identity: identity, route: route, index: index), limit: limit, window: window)
    }

    private func acquire(_ s: RedisQuotaStore, _ t: TestLoopThread, _ rules: [QuotaRule], now: Double) async throws -> QuotaDecision {
        let r: Decided? = await t.call { done in s.acquire(rules, now: now) { done($0) } }
        return try #require(r).get()
    }

    @Test func admitsExactlyTheLimitAcrossTwoLoopsHammeringOneUser() async throws {
        let server = try RedisServerProcess()
        let loops = [TestLoopThread(index: 0), TestLoopThread(index: 1)]
        let stores = try loops.map { try store(server, on: $0) }
        for (s, t) in zip(stores, loops) { await t.sync { s.start() } }
        let limit = 137, perLoop = 400
        let rules = [rule(limit: limit, window: 3600), rule("route", route: "chat", index: 1, limit: 100_000, window: 60)]
        let now = 1_700_000_000.0

        // Both loops fire in waves at once; every decision is one atomic script run.
        let results = await withTaskGroup(of: [Decided].self) { group in
            for (s, t) in zip(stores, loops) {
                group.addTask {
                    await t.call(timeout: 30) { (done: @escaping ([Decided]) -> Void) in
                        var got: [Decided] = []
                        func wave(_ n: Int) {
                            for _ in 0..<20 {
                                s.acquire(rules, now: now) { r in got.append(r); if got.count == perLoop { done(got) } }
                            }
                            if n > 1 { t.loop.schedule(afterMs: 0) { wave(n - 1) } }
                        }
                        wave(perLoop / 20)
                    } ?? []
                }
            }
            var all: [Decided] = []
            for await r in group { all += r }
            return all
        }
        #expect(results.count == 2 * perLoop)
        let decisions = try results.map { try $0.get() }
        #expect(decisions.filter(\.isAllowed).count == limit)
        // The refused ones recorded nothing anywhere (all or none).
        #expect(try server.command(["ZCARD", "rampart:{user:u1}:chat:0"]) == .integer(Int64(limit)))
        #expect(try server.command(["ZCARD", "rampart:{route}:chat:1"]) == .integer(Int64(limit)))
        for d in decisions where !d.isAllowed {
            guard case .limited(let retry, let st) = d else { continue }
            #expect(retry == 3600)
            #expect(st[0].remaining == 0 && st[0].limit == limit)
            #expect(st[1].remaining == 100_000 - limit)
        }
        // Allowed decisions saw every remaining count from limit-1 down to 0 exactly once.
        let remainders = decisions.filter(\.isAllowed).map { $0.statuses[0].remaining }.sorted()
        #expect(remainders == Array(0..<limit))
        for (s, t) in zip(stores, loops) { await t.sync { s.client.close() } }
    }

    /// The same sequence of requests on the memory store and on Redis gives identical decisions:
    /// the Lua script mirrors QuotaSlidingWindow step for step (edges, retry-after, reset, remaining).
    @Test func decidesExactlyLikeTheMemoryStore() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let redis = try store(server, on: t)
        let memory = MemoryQuotaStore(directory: nil)
        var rng = SplitMix(seed: 42)
        var now = 1_700_000_000.0
        let ruleSets: [[QuotaRule]] = [
            [rule(limit: 3, window: 10)],
            [rule(limit: 3, window: 10), rule("user:u1", route: "chat", index: 1, limit: 5, window: 60)],
            [rule("ip:203.0.113.9", route: "auth", limit: 2, window: 1.5), rule("route", route: "auth", index: 1, limit: 4, window: 2)],
            [rule("user:u2", route: "gen", limit: 1, window: 0.25)],
        ]
        var mismatches = 0
        for step in 0..<600 {
            // Mostly small steps, sometimes a whole window, sometimes 1 ms. (Steps back are compared
            // in `clockSteppingBackMatchesTheMemoryStore`: here the memory store's eviction of spent logs
            // would differ from Redis keys, which expire on Redis's own clock.)
            switch rng.next() % 10 {
            case 0: now += 10
            case 1: now += 0.001
            case 2: break
            default: now += Double(rng.next() % 1500) / 1000
            }
            let rules = ruleSets[Int(rng.next() % UInt64(ruleSets.count))]
            let expected = memory.acquire(rules, now: now)
            let got = try await acquire(redis, t, rules, now: now)
            if got != expected {
                mismatches += 1
                Issue.record("step \(step) at \(now): redis \(got) != memory \(expected)")
                if mismatches > 5 { break }
            }
            if step % 50 == 0 {
                let pr: Result<[QuotaStatus], RedisError>? = await t.call { done in redis.peek(rules, now: now) { done($0) } }
                #expect(try pr?.get() == memory.peek(rules, now: now))
            }
        }
        await t.sync { redis.client.close() }
    }

    @Test func clockSteppingBackMatchesTheMemoryStore() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let redis = try store(server, on: t)
        let memory = MemoryQuotaStore(directory: nil)
        let rules = [rule(limit: 3, window: 10), rule(route: "chat", index: 1, limit: 4, window: 20)]
        let t0 = 1_700_000_000.0
        // A hit at a time before the newest one counts at the newest time (never earlier).
        for at in [t0, t0 + 5, t0 + 4.997, t0 + 4.997, t0 + 9.999, t0 + 10, t0 + 10.001, t0 + 2, t0 + 15, t0 + 14.5, t0 + 25] {
            let expected = memory.acquire(rules, now: at)
            #expect(try await acquire(redis, t, rules, now: at) == expected, "at t0+\(at - t0)")
        }
        await t.sync { redis.client.close() }
    }

    @Test func windowEdgesAndRetryAfter() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t)
        let r = [rule(limit: 2, window: 10)]
        let t0 = 1_700_000_000.0
        #expect(try await acquire(s, t, r, now: t0) == .allowed([QuotaStatus(limit: 2, remaining: 1, resetAfter: 10, window: 10)]))
        #expect(try await acquire(s, t, r, now: t0 + 4) == .allowed([QuotaStatus(limit: 2, remaining: 0, resetAfter: 6, window: 10)]))
        #expect(try await acquire(s, t, r, now: t0 + 9.999)
                == .limited(retryAfter: 1, [QuotaStatus(limit: 2, remaining: 0, resetAfter: 0.001, window: 10)]))
        // At exactly t0 + 10 the first hit has left the window.
        #expect(try await acquire(s, t, r, now: t0 + 10) == .allowed([QuotaStatus(limit: 2, remaining: 0, resetAfter: 4, window: 10)]))
        #expect(try await acquire(s, t, r, now: t0 + 10).isAllowed == false)
        await t.sync { s.client.close() }
    }

    @Test func fallsBackToEvalAfterScriptFlush() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t)
        let loaded: Result<Void, RedisError>? = await t.call { done in s.start { done($0) } }
        #expect(throws: Never.self) { try loaded?.get() }
        #expect(await t.sync { s.scriptsLoaded })
        let r = [rule(limit: 5, window: 60)]
        let now = 1_700_000_000.0
        #expect(try await acquire(s, t, r, now: now).isAllowed)
        #expect(try await acquire(s, t, r, now: now).isAllowed)
        #expect(evalCalls(server).evalsha == 2)
        #expect(evalCalls(server).eval == 0)

        #expect(try server.command(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
        let third = try await acquire(s, t, r, now: now)
        #expect(third.statuses.first?.remaining == 2)
        // EVALSHA got NOSCRIPT, EVAL ran it (and cached it again), so EVALSHA works from then on.
        #expect(evalCalls(server).eval == 1)
        #expect(try await acquire(s, t, r, now: now).statuses.first?.remaining == 1)
        #expect(evalCalls(server).evalsha == 4)
        #expect(evalCalls(server).eval == 1)
        await t.sync { s.client.close() }
    }

    @Test func unavailableRedisFailsTheDecisionQuickly() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t)
        let r = [rule(limit: 5, window: 60)]
        #expect(try await acquire(s, t, r, now: 1_700_000_000).isAllowed)
        server.stop()
        #expect(await eventually { !s.isHealthy })
        // Quickly means inside the call itself: no round trip and no timer is waited for.
        let failed: Decided? = await t.sync { var got: Decided?; s.acquire(r, now: 1_700_000_001) { got = $0 }; return got }
        guard case .failure(let e)? = failed else { Issue.record("acquire while down, answered in the call: \(String(describing: failed))"); return }
        #expect(e.isUnavailability)
        #expect(s.lastError != nil)
        // Back up (empty: no persistence in the test server), the same store answers again.
        try server.start()
        #expect(await eventually(timeout: 6) { s.isHealthy })
        #expect(try await acquire(s, t, r, now: 1_700_000_002).statuses.first?.remaining == 4)
        await t.sync { s.client.close() }
    }

    @Test func entriesAndResetTouchOnlyQuotaKeys() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t)
        let now = 1_700_000_000.0
        let chat = [rule(limit: 10, window: 60), rule(route: "chat", index: 1, limit: 100, window: 3600)]
        let gen = [rule(route: "gen", limit: 10, window: 1)]
        let colon = [rule(route: "chat:beta", limit: 10, window: 60)]
        for _ in 0..<3 { _ = try await acquire(s, t, chat, now: now) }
        _ = try await acquire(s, t, gen, now: now)
        _ = try await acquire(s, t, colon, now: now)
        _ = try await acquire(s, t, [rule("user:u2", limit: 10, window: 60)], now: now)
        // Another record under the same hash tag (e.g. an idempotency key) must survive resets.
        _ = try server.command(["SET", "rampart:{user:u1}:idem:k1", "x"])

        func entries(_ at: Double) async throws -> [String] {
            let r: Result<[(route: String, index: Int, used: Int)], RedisError>? = await t.call { done in s.entries(identity: "user:u1", now: at) { done($0) } }
            return try #require(r).get().map { "\($0.route)/\($0.index)=\($0.used)" }
        }
        #expect(try await entries(now) == ["chat/0=3", "chat/1=3", "chat:beta/0=1", "gen/0=1"])
        // The 1 s window of "gen" has passed: its hit no longer counts.
        #expect(try await entries(now + 1) == ["chat/0=3", "chat/1=3", "chat:beta/0=1"])

        func reset(_ route: String?) async throws -> Int {
            let r: Result<Int, RedisError>? = await t.call { done in s.reset(identity: "user:u1", route: route) { done($0) } }
            return try #require(r).get()
        }
        #expect(try await reset("chat") == 2)       // chat/0 and chat/1, not chat:beta
        #expect(try await entries(now) == ["chat:beta/0=1"])
        #expect(try await acquire(s, t, chat, now: now).statuses.map(\.remaining) == [9, 99])
        #expect(try await reset(nil) == 3)
        #expect(try await entries(now) == [])
        #expect(try server.command(["GET", "rampart:{user:u1}:idem:k1"]) == .bulk("x"))
        #expect(try server.command(["ZCARD", "rampart:{user:u2}:chat:0"]) == .integer(1))
        // Quota keys expire on their own once their window has passed.
        let ttl = try server.command(["PTTL", "rampart:{user:u2}:chat:0"]).int ?? -1
        #expect(ttl > 55_000 && ttl <= 60_000)
        await t.sync { s.client.close() }
    }

    private func evalCalls(_ server: RedisServerProcess) -> (eval: Int, evalsha: Int) {
        guard let info = try? server.command(["INFO", "commandstats"]).string else { return (-1, -1) }
        func calls(_ name: String) -> Int {
            guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(name):") }),
                  let field = line.split(separator: ",").first(where: { $0.contains("calls=") }) else { return 0 }
            return Int(field.split(separator: "=").last ?? "") ?? -1
        }
        return (calls("eval"), calls("evalsha"))
    }
}

/// A tiny deterministic generator for reproducible sequences.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
