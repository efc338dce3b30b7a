import Foundation
import Testing

private func idempotencyConfig(upstream: String, store: String = #"{"kind": "memory"}"#) -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": ["127.0.0.1/32"]},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "store": \(store),
      "identity": {"trusted_header": "X-User-Id"},
      "upstreams": {"app": {"url": "\(upstream)"}},
      "routes": [{"name": "pay", "match": {"path_prefix": "/echo/pay"}, "idempotency": {"header": "Idempotency-Key", "ttl": "1h"}},
                 {"name": "slow", "match": {"path_prefix": "/slow"}, "idempotency": {"header": "Idempotency-Key", "ttl": "1h"}},
                 {"name": "default", "match": {"path_prefix": "/"}}]
    }
    """
}

private func pay(_ port: UInt16, key: String, body: String, user: String = "u1") throws -> HTTPClient.Response {
    try HTTPClient.request(port: port, method: "POST", path: "/echo/pay", body: Array(body.utf8),
                           headers: ["Idempotency-Key": key, "X-User-Id": user, "Content-Type": "application/json"])
}

@Suite(.serialized) struct IdempotencyTests {
    @Test func replaysMismatchesInProgressAndPerUserKeys() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: idempotencyConfig(upstream: app.url))
        let before = try app.requestCount()
        let first = try pay(rampart.port, key: "k1", body: #"{"amount": 5}"#)
        #expect(first.status == 200 && first.header("Idempotent-Replayed") == nil)
        let again = try pay(rampart.port, key: "k1", body: #"{"amount": 5}"#)
        #expect(again.status == 200 && again.header("Idempotent-Replayed") == "true")
        #expect(again.body == first.body, "the stored response, byte for byte")
        #expect(again.header("X-Request-Id") != first.header("X-Request-Id"), "a fresh request id")
        let count = try app.requestCount()
        #expect(count - before == 1, "the app ran it once")

        let mismatch = try pay(rampart.port, key: "k1", body: #"{"amount": 500}"#)
        #expect(mismatch.status == 422 && (mismatch.json["error"] as? [String: Any])?["code"] as? String == "IDEMPOTENCY_MISMATCH")

        let otherUser = try pay(rampart.port, key: "k1", body: #"{"amount": 5}"#, user: "u2")
        #expect(otherUser.status == 200 && otherUser.header("Idempotent-Replayed") == nil, "keys are per user")

        // A duplicate while the first is still running: 409.
        let slow = try HTTPClient(port: rampart.port)
        try slow.send(HTTPClient.requestText(method: "GET", path: "/slow?ms=3000", headers: ["Idempotency-Key": "k2", "X-User-Id": "u1"]))
        try eventually { try rampart.admin("GET", "/admin/status").json["in_flight"] as? Int == 1 }
        let dup = try HTTPClient.request(port: rampart.port, path: "/slow?ms=3000", headers: ["Idempotency-Key": "k2", "X-User-Id": "u1"])
        #expect(dup.status == 409 && (dup.json["error"] as? [String: Any])?["code"] as? String == "IDEMPOTENCY_IN_PROGRESS")
        #expect(try slow.readResponse().status == 200)
        let replayed = try HTTPClient.request(port: rampart.port, path: "/slow?ms=3000", headers: ["Idempotency-Key": "k2", "X-User-Id": "u1"])
        #expect(replayed.header("Idempotent-Replayed") == "true")
    }

    @Test func twoProcessesSharingRedisReplayEachOthersResponses() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let store = #"{"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0"}"#
        let a = try RampartProcess(config: idempotencyConfig(upstream: app.url, store: store))
        let b = try RampartProcess(config: idempotencyConfig(upstream: app.url, store: store))
        try eventually { (try? HTTPClient.request(port: a.port, path: "/_rampart/readyz"))?.status == 200 }
        try eventually { (try? HTTPClient.request(port: b.port, path: "/_rampart/readyz"))?.status == 200 }
        let before = try app.requestCount()
        let first = try pay(a.port, key: "shared-1", body: #"{"amount": 7}"#)
        #expect(first.status == 200)
        // A stores the response as its own answer completes; until B sees it, B says 409, never runs it again.
        var onB = try pay(b.port, key: "shared-1", body: #"{"amount": 7}"#)
        try eventually {
            if onB.header("Idempotent-Replayed") == "true" { return true }
            #expect(onB.status == 409)
            onB = try pay(b.port, key: "shared-1", body: #"{"amount": 7}"#)
            return false
        }
        #expect(onB.status == 200 && onB.body == first.body)
        let after = try app.requestCount()
        #expect(after - before == 1, "the app ran it once across both replicas")
        #expect(try pay(b.port, key: "shared-1", body: #"{"amount": 8}"#).status == 422)
    }
}
