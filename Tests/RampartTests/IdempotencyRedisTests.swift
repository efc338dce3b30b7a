import Foundation
@testable import RampartLoop
@testable import RampartTransport
@testable import RampartProxy
import RampartHTTP
import Testing
@testable import Rampart

/// The Redis store against a private redis-server: the same semantics as the memory store, plus
/// what only Redis gives — records shared by stores on different loops (as by replicas), atomic
/// creation under a race, Redis-side expiry, and fast failure when Redis is down.
@Suite(.serialized)
struct IdempotencyRedisTests {
    typealias Began = Result<IdempotencyBegin, IdempotencyStoreError>
    typealias Acked = Result<Void, IdempotencyStoreError>

    let fp = IdempotencyFingerprint.of(method: "POST", path: "/api/books", body: Array(#"{"title":"a"}"#.utf8))
    let other = IdempotencyFingerprint.of(method: "POST", path: "/api/books", body: Array(#"{"title":"b"}"#.utf8))
    let response = StoredResponse(status: 201, headers: [HTTPField(name: "Content-Type", value: "application/json"),
                                                        HTTPField(name: "Location", value: "/api/books/7")],
                                  body: Array(#"{"id":7}"#.utf8) + [0, 255, 13, 10])

    private func store(_ server: RedisServerProcess, on t: TestLoopThread, maxBodyBytes: Int = 8 << 20,
                       inFlightTimeout: Double = 300) throws -> RedisIdempotencyStore {
        RedisIdempotencyStore(client: RedisClient(url: try RedisURL.parse(server.url), loop: t.loop),
                              maxBodyBytes: maxBodyBytes, inFlightTimeout: inFlightTimeout)
    }

    private func begin(_ s: RedisIdempotencyStore, _ t: TestLoopThread, _ identity: String = "user:u1", key: String = "k1",
                       fp fingerprint: String? = nil, ttl: Double = 60) async throws -> IdempotencyBegin {
        let f = fingerprint ?? fp
        let r: Began? = await t.call { done in s.begin(identity: identity, key: key, fingerprint: f, ttl: ttl, now: 0) { done($0) } }
        return try #require(r).get()
    }

    private func complete(_ s: RedisIdempotencyStore, _ t: TestLoopThread, _ identity: String = "user:u1", key: String = "k1",
                          with r: StoredResponse? = nil, ttl: Double = 60) async throws {
        let resp = r ?? response, f = fp
        let ack: Acked? = await t.call { done in
            s.complete(identity: identity, key: key, fingerprint: f, response: resp, ttl: ttl) { done($0) }
        }
        try #require(ack).get()
    }

    private func abandon(_ s: RedisIdempotencyStore, _ t: TestLoopThread, key: String = "k1") async throws {
        let ack: Acked? = await t.call { done in s.abandon(identity: "user:u1", key: key) { done($0) } }
        try #require(ack).get()
    }

    @Test func lifecycleProceedInProgressMismatchReplay() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t)
        let loaded: Result<Void, RedisError>? = await t.call { done in s.start { done($0) } }
        #expect(throws: Never.self) { try #require(loaded).get() }
        #expect(await t.sync { s.scriptsLoaded })

        #expect(try await begin(s, t) == .proceed)
        #expect(try await begin(s, t) == .inProgress)
        #expect(try await begin(s, t, fp: other) == .mismatch)
        try await complete(s, t)
        #expect(try await begin(s, t) == .replay(response))
        #expect(try await begin(s, t, fp: other) == .mismatch)

        // The record is where the spec puts it, with the route's ttl.
        #expect(try server.command(["EXISTS", "rampart:{user:u1}:idem:k1"]) == .integer(1))
        let pttl = try #require(try server.command(["PTTL", "rampart:{user:u1}:idem:k1"]).int)
        #expect(pttl > 50_000 && pttl <= 60_000)

        // Scripts flushed (Redis restarted): EVALSHA gets NOSCRIPT and falls back to EVAL.
        _ = try server.command(["SCRIPT", "FLUSH"])
        #expect(try await begin(s, t, key: "k2") == .proceed)
        #expect(try await begin(s, t, key: "k2") == .inProgress)
    }

    @Test func keysArePerIdentity() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t)
        #expect(try await begin(s, t, "user:a") == .proceed)
        try await complete(s, t, "user:a")
        #expect(try await begin(s, t, "user:b") == .proceed)
        #expect(try await begin(s, t, "ip:1.2.3.4") == .proceed)
        #expect(try await begin(s, t, "user:a") == .replay(response))
    }

    /// Lifetimes are Redis's (PX), read back with PTTL; "time passing" is Redis expiring the key
    /// (PEXPIRE 1), so nothing here depends on how fast the machine is.
    @Test func recordsExpireWithTheirTtlAndInFlightWithTheSafetyTimeout() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t, inFlightTimeout: 120)
        func pttl(_ key: String) throws -> Int {
            guard case .integer(let ms) = try server.command(["PTTL", IdempotencyRedisScripts.key(identity: "user:u1", key: key)]) else { return -3 }
            return Int(ms)
        }
        func expireNow(_ key: String) throws {
            _ = try server.command(["PEXPIRE", IdempotencyRedisScripts.key(identity: "user:u1", key: key), "1"])
        }

        // In flight: the safety timeout bounds the record, not the (longer) ttl.
        #expect(try await begin(s, t, ttl: 3600) == .proceed)
        let inFlight = try pttl("k1")
        #expect((1...120_000).contains(inFlight), "in flight for at most inFlightTimeout: \(inFlight) ms")
        // Completed: the record lives for its ttl.
        try await complete(s, t, ttl: 3600)
        let stored = try pttl("k1")
        #expect((120_001...3_600_000).contains(stored), "stored for the ttl: \(stored) ms")
        #expect(try await begin(s, t, ttl: 3600) == .replay(response))
        try expireNow("k1")
        #expect(await eventually { (try? await begin(s, t, ttl: 3600)) == .proceed }, "an expired record frees its key")

        // A ttl shorter than the safety timeout bounds the in-flight record too.
        #expect(try await begin(s, t, key: "short", ttl: 30) == .proceed)
        #expect((1...30_000).contains(try pttl("short")))

        // A crashed request never completes: its in-flight record frees itself when Redis expires it.
        #expect(try await begin(s, t, key: "crashed", ttl: 3600) == .proceed)
        #expect(try await begin(s, t, key: "crashed", ttl: 3600) == .inProgress)
        #expect((1...120_000).contains(try pttl("crashed")))
        try expireNow("crashed")
        #expect(await eventually { (try? await begin(s, t, key: "crashed", ttl: 3600)) == .proceed })
    }

    @Test func abandonFreesOnlyAnInFlightKey() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t)
        #expect(try await begin(s, t) == .proceed)
        try await abandon(s, t)
        #expect(try await begin(s, t) == .proceed)
        try await complete(s, t)
        try await abandon(s, t)
        #expect(try await begin(s, t) == .replay(response))
    }

    @Test func oversizeBodyIsNotStoredAndTheKeyIsReleased() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        let s = try store(server, on: t, maxBodyBytes: 1000)
        let big = StoredResponse(status: 200, headers: [], body: [UInt8](repeating: 7, count: 1001))
        #expect(try await begin(s, t) == .proceed)
        try await complete(s, t, with: big)
        #expect(try await begin(s, t) == .proceed)
        // The route's own limit, through the protocol (fire and forget; the FIFO orders it before the next begin).
        let small = response, f = fp
        await t.sync { s.complete(identity: "user:u1", key: "k1", fingerprint: f, response: small, ttl: 60, now: 0, maxBodyBytes: 4) }
        #expect(try await begin(s, t) == .proceed)
        await t.sync { s.complete(identity: "user:u1", key: "k1", fingerprint: f, response: small, ttl: 60, now: 0, maxBodyBytes: 1000) }
        #expect(try await begin(s, t) == .replay(response))
    }

    @Test func twoLoopsSharingOneRedisSeeEachOthersRecords() async throws {
        let server = try RedisServerProcess()
        let (ta, tb) = (TestLoopThread(index: 0), TestLoopThread(index: 1))
        let (a, b) = (try store(server, on: ta), try store(server, on: tb))
        await ta.sync { a.start() }
        await tb.sync { b.start() }
        #expect(try await begin(a, ta) == .proceed)
        #expect(try await begin(b, tb) == .inProgress)
        #expect(try await begin(b, tb, fp: other) == .mismatch)
        try await complete(a, ta)
        #expect(try await begin(b, tb) == .replay(response))

        // Racing on fresh keys from both loops at once: exactly one side proceeds per key.
        let keys = (0..<200).map { "race\($0)" }
        let f = fp
        let results = await withTaskGroup(of: [IdempotencyBegin].self) { group in
            for (s, t) in [(a, ta), (b, tb)] {
                group.addTask {
                    await t.call { (done: @escaping ([IdempotencyBegin]) -> Void) in
                        var got: [IdempotencyBegin] = []
                        for k in keys {
                            s.begin(identity: "user:u1", key: k, fingerprint: f, ttl: 60, now: 0) { r in
                                got.append((try? r.get()) ?? .mismatch)
                                if got.count == keys.count { done(got) }
                            }
                        }
                    } ?? []
                }
            }
            var all: [IdempotencyBegin] = []
            for await r in group { all += r }
            return all
        }
        #expect(results.count == 2 * keys.count)
        #expect(results.filter { $0 == .proceed }.count == keys.count)
        #expect(results.filter { $0 == .inProgress }.count == keys.count)
    }

    @Test func redisDownFailsQuickly() async throws {
        let server = try RedisServerProcess()
        let t = TestLoopThread()
        // Quickly means by the dropped connection, never by the (two-minute) command timeout.
        let slow = RedisClient.Options(connectTimeoutMs: 120_000, commandTimeoutMs: 120_000)
        let s = RedisIdempotencyStore(client: RedisClient(url: try RedisURL.parse(server.url), loop: t.loop, options: slow))
        #expect(try await begin(s, t) == .proceed)
        server.stop()
        let r: Began? = await t.call(timeout: 60) { done in s.begin(identity: "user:u1", key: "k9", fingerprint: "x", ttl: 60, now: 0) { done($0) } }
        let failed = try #require(r)
        #expect(throws: IdempotencyStoreError.self) { try failed.get() }
        if case .failure(let e) = failed { #expect(!e.reason.contains("timed out"), "\(e)") }
        #expect(await t.sync { !s.isHealthy })

        // A store whose Redis was never up fails just as fast: the connect is refused.
        let port = try RedisServerProcess.freePort()
        let never = RedisIdempotencyStore(client: RedisClient(url: try RedisURL.parse("redis://127.0.0.1:\(port)"), loop: t.loop, options: slow))
        let r2: Began? = await t.call(timeout: 60) { done in never.begin(identity: "user:u1", key: "k", fingerprint: "x", ttl: 60, now: 0) { done($0) } }
        #expect(throws: IdempotencyStoreError.self) { try #require(r2).get() }
        if case .failure(let e)? = r2 { #expect(!e.reason.contains("timed out"), "\(e)") }
    }
}
