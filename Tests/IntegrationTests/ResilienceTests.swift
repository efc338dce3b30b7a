import Foundation
import Testing

private func resilienceConfig(upstream: String, retry: String, breaker: String = "",
                              routes: String = #"[{"name": "default", "match": {"path_prefix": "/"}}]"#) -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 2},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "upstreams": {"app": {"url": "\(upstream)", "retry": \(retry)\(breaker.isEmpty ? "" : ", \"circuit_breaker\": " + breaker)}},
      "routes": \(routes)
    }
    """
}

@Suite(.serialized) struct ResilienceTests {
    @Test func retriesIdempotentRequestsWithBackoffAndReplaysBodies() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: resilienceConfig(upstream: app.url,
            retry: #"{"attempts": 3, "backoff": "100ms", "max_backoff": "400ms", "on": ["connect", "timeout", "503"], "methods": ["GET", "PUT"]}"#))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/r", "times": 2, "status": 503}"#)
        let before = try app.requestCount()
        let r = try HTTPClient.request(port: rampart.port, path: "/echo/r", headers: ["X-Request-Id": "retry-1"])
        #expect(r.status == 200, "third attempt succeeds")
        let afterRetries = try app.requestCount()
        #expect(afterRetries - before == 3)
        try eventually { rampart.accessLog.contains { $0["request_id"] as? String == "retry-1" && $0["retries"] as? Int == 2 } }

        // A PUT body is replayed intact on the retry.
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/put", "times": 1, "status": 503}"#)
        let put = try HTTPClient.request(port: rampart.port, method: "PUT", path: "/echo/put", body: Array("payload-123".utf8))
        #expect(put.status == 200 && put.json["body"] as? String == "payload-123")

        // POST is not in retry.methods: one attempt only, unless it carries an Idempotency-Key.
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/post", "times": 1, "status": 503}"#)
        let b2 = try app.requestCount()
        let post = try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo/post", body: Array("x".utf8))
        let afterPost = try app.requestCount()
        #expect(post.status == 502 && afterPost - b2 == 1)
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/post", "times": 1, "status": 503}"#)
        let keyed = try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo/post", body: Array("x".utf8),
                                           headers: ["Idempotency-Key": "k-1"])
        #expect(keyed.status == 200)
        #expect(try rampart.admin("GET", "/metrics").text.contains("rampart_upstream_retries_total{upstream=\"app\"} 4"))
    }

    @Test func honoursUpstreamRetryAfter() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: resilienceConfig(upstream: app.url,
            retry: #"{"attempts": 2, "backoff": "100ms", "on": ["429"], "methods": ["GET"]}"#))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/ra", "times": 1, "status": 429, "retry_after": 1}"#)
        let start = Date()
        let r = try HTTPClient.request(port: rampart.port, path: "/echo/ra")
        #expect(r.status == 200)
        #expect(Date().timeIntervalSince(start) >= 1.0, "waited the upstream's Retry-After")
        // Too long for the total timeout: the upstream's answer comes back instead.
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/ra", "times": 1, "status": 429, "retry_after": 600}"#)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/ra").status == 429)
    }

    /// While open (a 60 s cooldown, so "still open" holds however slow the machine), requests
    /// fail fast and nothing reaches the upstream. Recovery by time runs on a route's own breaker
    /// with a 1 s cooldown, where the test only waits for it; the cooldown's arithmetic is
    /// unit-tested with a hand-moved clock (BreakerTransitionTests).
    @Test func breakerOpensFailsFastAndRecovers() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: resilienceConfig(upstream: app.url, retry: #"{"attempts": 1}"#,
            breaker: #"{"consecutive_failures": 5, "failure_rate": 0.9, "min_requests": 100, "window": "60s", "cooldown": "60s", "half_open_probes": 1}"#,
            routes: #"[{"name": "cooling", "match": {"path_prefix": "/echo/c"}, "circuit_breaker": {"consecutive_failures": 2, "cooldown": "1s"}},"#
                + #" {"name": "default", "match": {"path_prefix": "/"}}]"#))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/b", "times": -1, "status": 500}"#)
        for _ in 0..<5 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo/b").status == 502) }
        let seen = try app.requestCount()
        let open = try HTTPClient.request(port: rampart.port, path: "/echo/b")
        #expect(open.status == 503 && (open.json["error"] as? [String: Any])?["code"] as? String == "CIRCUIT_OPEN")
        let retryAfter = Int(open.header("Retry-After") ?? "") ?? 0
        #expect(retryAfter >= 1 && retryAfter <= 60, "Retry-After is the cooldown left: \(retryAfter)")
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/ok").status == 503, "the whole upstream is paused")
        #expect(try app.requestCount() == seen, "no upstream traffic while open")
        let breakers = try rampart.admin("GET", "/admin/breakers").json["breakers"] as? [String: Any]
        #expect((breakers?["app"] as? [String: Any])?["state"] as? String == "open")
        #expect(rampart.child.lines.contains { $0.contains("circuit breaker open") })

        // Ops can force it: reset closes it at once, open and close pin it.
        #expect(try rampart.admin("POST", "/admin/breakers/app/reset").status == 200)
        try app.control("DELETE", "/_demo/faults")
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/ok").status == 200)
        #expect(try rampart.admin("POST", "/admin/breakers/app/open").status == 200)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/ok").status == 503)
        #expect(try rampart.admin("POST", "/admin/breakers/app/reset").status == 200)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/ok").status == 200)
        #expect(try rampart.admin("POST", "/admin/breakers/nope/open").status == 404)
        #expect(try rampart.admin("GET", "/admin/breakers/app/open").status == 405)

        // Recovery by time: the route's breaker opens, then after its cooldown a probe closes it.
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/c", "times": 2, "status": 500}"#)
        for _ in 0..<2 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo/c").status == 502) }
        try eventually(timeout: 30, "the probe after the cooldown closes it") {
            (try? HTTPClient.request(port: rampart.port, path: "/echo/c"))?.status == 200
        }
        let after = try rampart.admin("GET", "/admin/breakers").json["breakers"] as? [String: Any]
        #expect((after?["app/cooling"] as? [String: Any])?["state"] as? String == "closed")
        let m = try MetricsScrape.take(rampart)
        for (breaker, to, n) in [("app", "open", 2.0), ("app/cooling", "open", 1), ("app/cooling", "half_open", 1), ("app/cooling", "closed", 1)] {
            #expect(m.value("rampart_breaker_transitions_total", ["upstream": breaker, "to": to]) == n, "\(breaker) → \(to)")
        }
        #expect(m.value("rampart_breaker_state", ["upstream": "app"]) == 0 && m.value("rampart_breaker_state", ["upstream": "app/cooling"]) == 0)
    }
}

@Suite(.serialized) struct RouteBreakerTests {
    /// A route may carry its own breaker: it opens for that route while the upstream's others flow.
    @Test func routeOverrideBreakerIsSeparate() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: #"""
            [{"name": "fragile", "match": {"path_prefix": "/echo/fragile"},
              "circuit_breaker": {"consecutive_failures": 2, "cooldown": "60s"}},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """#))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/fragile", "times": -1, "status": 503}"#)
        for _ in 0..<2 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo/fragile").status == 502) }
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/fragile").status == 503)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/fine").status == 200, "other routes of the upstream still flow")
        let breakers = try rampart.admin("GET", "/admin/breakers").json["breakers"] as? [String: Any]
        #expect((breakers?["app/fragile"] as? [String: Any])?["state"] as? String == "open")
        #expect(try rampart.admin("POST", "/admin/breakers/app/fragile/reset").status == 200)
    }
}
