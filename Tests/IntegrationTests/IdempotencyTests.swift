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
                 {"name": "stepped", "match": {"path_prefix": "/sse/stepped"}, "idempotency": {"header": "Idempotency-Key", "ttl": "1h"}},
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

        // A duplicate while the first is still running (a stream that goes on only when the test
        // steps it, so "still running" holds however slow the machine): 409.
        let path = "/sse/stepped?id=idem-k2&events=2"
        let running = try HTTPClient(port: rampart.port)
        try running.send(HTTPClient.requestText(method: "GET", path: path, headers: ["Idempotency-Key": "k2", "X-User-Id": "u1"]))
        #expect(try running.readHead().status == 200)
        #expect(try running.readEvent() == #"event: tick\#ndata: {"n":1,"id":"idem-k2"}"#)
        let dup = try HTTPClient.request(port: rampart.port, path: path, headers: ["Idempotency-Key": "k2", "X-User-Id": "u1"])
        #expect(dup.status == 409 && (dup.json["error"] as? [String: Any])?["code"] as? String == "IDEMPOTENCY_IN_PROGRESS")
        try app.control("POST", "/_demo/step?id=idem-k2")
        #expect(try running.readEventsToEnd() == [#"event: done\#ndata: {"n":2,"id":"idem-k2","done":true}"#])
        var replayed = try HTTPClient.request(port: rampart.port, path: path, headers: ["Idempotency-Key": "k2", "X-User-Id": "u1"])
        try eventually("the finished stream is stored") {
            if replayed.status == 409 { replayed = try HTTPClient.request(port: rampart.port, path: path, headers: ["Idempotency-Key": "k2", "X-User-Id": "u1"]) }
            return replayed.status != 409
        }
        #expect(replayed.status == 200 && replayed.header("Idempotent-Replayed") == "true")
        #expect(replayed.text == "event: tick\ndata: {\"n\":1,\"id\":\"idem-k2\"}\n\nevent: done\ndata: {\"n\":2,\"id\":\"idem-k2\",\"done\":true}\n\n",
                "the stored stream, whole: \(replayed.text)")
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
