import Foundation
import Testing

/// Budgets and idempotency keys live in Redis with the Redis store (SPEC §5). When Redis goes
/// away mid-traffic, `store.on_unavailable` decides for them as for quotas: `deny` answers 503
/// OVERLOADED (Retry-After: 1) and the request never reaches the app, `allow` lets it through and
/// counts the store error; readiness reports the outage; when Redis is back both work again
/// without a restart. Two replicas, one of each kind, share one redis-server.
@Suite(.serialized) struct RedisOutageTests {
    static func config(app: String, redis: RedisServer, onUnavailable: String, budgets: Bool) -> String {
        """
        {
          "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": ["127.0.0.1/32"]},
          "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
          "store": {"kind": "redis", "url": "redis://127.0.0.1:\(redis.port)/0", "on_unavailable": "\(onUnavailable)"},
          "identity": {"trusted_header": "X-User-Id"},
          "upstreams": {"app": {"url": "\(app)", "retry": {"attempts": 1}}},
          "routes": [{"name": "pay", "match": {"path_prefix": "/echo/pay"}, "idempotency": {"header": "Idempotency-Key", "ttl": "1h"}},
                     {"name": "ai", "match": {"path_prefix": "/v1/"}}]\(budgets ? "," : "")
          \(budgets ? #""usage": {"prices": {"claude-sonnet-4-5": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}, "budgets": [{"per": "1h", "usd": 0.0005, "key": "user"}]}"# : "")
        }
        """
    }

    static func generate(_ rampart: RampartProcess, user: String) throws -> HTTPClient.Response {
        try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/messages",
                               body: Array(#"{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Write."}]}"#.utf8),
                               headers: ["X-User-Id": user, "Content-Type": "application/json"])
    }

    static func pay(_ rampart: RampartProcess, key: String, user: String = "u1") throws -> HTTPClient.Response {
        try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo/pay", body: Array(#"{"amount": 5}"#.utf8),
                               headers: ["Idempotency-Key": key, "X-User-Id": user, "Content-Type": "application/json"])
    }

    static func code(_ r: HTTPClient.Response) -> String? { (r.json["error"] as? [String: Any])?["code"] as? String }

    static func ready(_ rampart: RampartProcess) -> Int? { (try? HTTPClient.request(port: rampart.port, path: "/_rampart/readyz"))?.status }

    static func storeErrors(_ rampart: RampartProcess, _ kind: String) throws -> Double {
        try MetricsScrape.take(rampart).value("rampart_store_errors_total", ["kind": kind])
    }

    /// A 503 that `deny` gives for `store`, with the wait the SDKs honour.
    static func expectDenied(_ r: HTTPClient.Response, store: String) {
        #expect(r.status == 503 && code(r) == "OVERLOADED", "\(r.status) \(r.text)")
        #expect(r.header("Retry-After") == "1")
        #expect(((r.json["error"] as? [String: Any])?["message"] as? String)?.contains("\(store) store is unavailable") == true, "\(r.text)")
    }

    @Test func budgetsFollowOnUnavailableThroughARedisOutage() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let deny = try RampartProcess(config: Self.config(app: app.url, redis: redis, onUnavailable: "deny", budgets: true))
        let allow = try RampartProcess(config: Self.config(app: app.url, redis: redis, onUnavailable: "allow", budgets: true))
        try eventually("both ready") { Self.ready(deny) == 200 && Self.ready(allow) == 200 }

        // Redis up: one call spends u1's budget, on both replicas.
        #expect(try Self.generate(deny, user: "u1").status == 200)
        for replica in [deny, allow] {
            try eventually("u1's spend reaches Redis") { Self.code(try Self.generate(replica, user: "u1")) == "BUDGET_EXCEEDED" }
        }

        redis.stop()
        try eventually("readiness reports the outage") { Self.ready(deny) == 503 && Self.ready(allow) == 503 }
        let before = try app.requestCount()
        Self.expectDenied(try Self.generate(deny, user: "u2"), store: "budget")
        #expect(try app.requestCount() == before, "a denied call never reaches the app")
        #expect(try Self.generate(allow, user: "u2").status == 200, "allow: the call goes through")
        #expect(try app.requestCount() == before + 1)
        #expect(try Self.storeErrors(deny, "budget") >= 1 && Self.storeErrors(allow, "budget") >= 1)

        // Back (empty: the test server keeps nothing): budgets are enforced again, no restart.
        try redis.start()
        try eventually(timeout: 30, "deny serves again") { try Self.generate(deny, user: "u3").status == 200 }
        try eventually("u3's spend counts again") { Self.code(try Self.generate(allow, user: "u3")) == "BUDGET_EXCEEDED" }
        try eventually("ready again") { Self.ready(deny) == 200 && Self.ready(allow) == 200 }
    }

    @Test func idempotencyFollowsOnUnavailableThroughARedisOutage() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let deny = try RampartProcess(config: Self.config(app: app.url, redis: redis, onUnavailable: "deny", budgets: false))
        let allow = try RampartProcess(config: Self.config(app: app.url, redis: redis, onUnavailable: "allow", budgets: false))
        try eventually("both ready") { Self.ready(deny) == 200 && Self.ready(allow) == 200 }
        let first = try Self.pay(deny, key: "k1")
        #expect(first.status == 200 && first.header("Idempotent-Replayed") == nil)
        try eventually("k1 is stored") { try Self.pay(allow, key: "k1").header("Idempotent-Replayed") == "true" }

        redis.stop()
        try eventually("readiness reports the outage") { Self.ready(deny) == 503 && Self.ready(allow) == 503 }
        var count = try app.requestCount()
        Self.expectDenied(try Self.pay(deny, key: "k2"), store: "idempotency")
        #expect(try app.requestCount() == count, "deny: the app never ran it, so a retry later is safe")
        // allow: the call runs, and without the store a repeat runs again (that is what allow trades).
        for _ in 0..<2 {
            let r = try Self.pay(allow, key: "k3")
            #expect(r.status == 200 && r.header("Idempotent-Replayed") == nil)
        }
        #expect(try app.requestCount() == count + 2)
        #expect(try Self.storeErrors(deny, "idempotency") >= 1 && Self.storeErrors(allow, "idempotency") >= 2)

        try redis.start()
        try eventually(timeout: 30, "deny serves again") { try Self.pay(deny, key: "k4").status == 200 }
        count = try app.requestCount()
        try eventually("k4 replays on the other replica") { try Self.pay(allow, key: "k4").header("Idempotent-Replayed") == "true" }
        #expect(try app.requestCount() == count, "the app ran k4 once")
    }
}
