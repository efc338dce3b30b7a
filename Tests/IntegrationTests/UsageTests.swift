import Foundation
import Testing

@Suite(.serialized) struct UsageTests {
    /// Tokens are read from streamed and JSON responses as they pass; cost from usage.prices;
    /// a spent budget answers 429 BUDGET_EXCEEDED on the next request.
    @Test func usageFromStreamsAndJSONCostAndBudget() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": ["127.0.0.1/32"]},
              "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
              "identity": {"trusted_header": "X-User-Id"},
              "upstreams": {"app": {"url": "\(app.url)"}},
              "routes": [{"name": "ai", "match": {"path_prefix": "/v1/"}}, {"name": "default", "match": {"path_prefix": "/"}}],
              "usage": {"prices": {"claude-sonnet-4-5": {"input_per_mtok": 3.0, "output_per_mtok": 15.0},
                                   "gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
                        "budgets": [{"per": "1h", "usd": 0.0005, "key": "user"}]}
            }
            """)
        let stream = try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/messages?delay_ms=1",
                                            body: Array(#"{"model": "claude-sonnet-4-5", "stream": true, "messages": [{"role": "user", "content": "Write."}]}"#.utf8),
                                            headers: ["X-User-Id": "u1", "Content-Type": "application/json"])
        #expect(stream.status == 200 && stream.text.contains("message_stop"))
        let openai = try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/chat/completions",
                                            body: Array(#"{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}"#.utf8),
                                            headers: ["X-User-Id": "u2", "Content-Type": "application/json"])
        #expect(openai.status == 200)

        let usage = try rampart.admin("GET", "/admin/usage?key=user:u1")
        let hour = (usage.json["windows"] as? [[String: Any]])?.first
        let model = (hour?["models"] as? [String: Any])?["claude-sonnet-4-5"] as? [String: Any]
        #expect((model?["output_tokens"] as? Int ?? 0) > 0 && (model?["input_tokens"] as? Int ?? 0) > 0)
        #expect((model?["usd"] as? Double ?? 0) > 0)
        let u2 = try rampart.admin("GET", "/admin/usage?key=user:u2").json["windows"] as? [[String: Any]]
        #expect(((u2?.first?["models"] as? [String: Any])?["gpt-4o-mini"] as? [String: Any])?["output_tokens"] as? Int ?? 0 > 0)
        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(metrics.contains("rampart_ai_tokens_total{route=\"ai\",model=\"claude-sonnet-4-5\",type=\"output\"}"))
        #expect(metrics.contains("rampart_ai_cost_usd_total{route=\"ai\",model=\"claude-sonnet-4-5\"}"))

        // u1's spend is over $0.0005 now: the next request is refused until the window frees it.
        let over = try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/messages",
                                          body: Array(#"{"model": "claude-sonnet-4-5", "messages": []}"#.utf8), headers: ["X-User-Id": "u1"])
        #expect(over.status == 429 && (over.json["error"] as? [String: Any])?["code"] as? String == "BUDGET_EXCEEDED")
        #expect(Int(over.header("Retry-After") ?? "") ?? 0 >= 1)
    }
}

extension UsageTests {
    /// A stream whose last event (the usage chunk) lost its blank line: the client's parser drops
    /// it, but the tokens were spent, so Rampart still counts them.
    @Test func aFinalUsageEventWithoutItsBlankLineIsCounted() throws {
        let body = #"data: {"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"# + "\n"
        let upstream = try RawUpstream(response: RawUpstream.fixed(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body))
        let rampart = try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 1, "trusted_proxies": ["127.0.0.1/32"]},
              "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
              "identity": {"trusted_header": "X-User-Id"},
              "upstreams": {"llm": {"url": "http://127.0.0.1:\(upstream.port)"}},
              "routes": [{"name": "ai", "match": {"path_prefix": "/v1/"}}],
              "usage": {"prices": {"gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10.0}}}
            }
            """)
        let r = try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/chat/completions",
                                       body: Array(#"{"model": "gpt-4o", "stream": true, "messages": []}"#.utf8), headers: ["X-User-Id": "u3"])
        #expect(r.status == 200)
        try eventually(timeout: 10, "usage counted") {
            let windows = try rampart.admin("GET", "/admin/usage?key=user:u3").json["windows"] as? [[String: Any]]
            let model = (windows?.first?["models"] as? [String: Any])?["gpt-4o"] as? [String: Any]
            return model?["input_tokens"] as? Int == 3 && model?["output_tokens"] as? Int == 2
        }
    }
}

@Suite(.serialized) struct SharedBudgetTests {
    /// With the Redis store, two replicas share one budget: spend on A, refused on B.
    @Test func twoProcessesShareOneBudgetThroughRedis() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        func config() -> String {
            """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": ["127.0.0.1/32"]},
              "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
              "store": {"kind": "redis", "url": "redis://127.0.0.1:\(redis.port)/0"},
              "identity": {"trusted_header": "X-User-Id"},
              "upstreams": {"app": {"url": "\(app.url)"}},
              "routes": [{"name": "ai", "match": {"path_prefix": "/v1/"}}],
              "usage": {"prices": {"claude-sonnet-4-5": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}},
                        "budgets": [{"per": "1h", "usd": 0.0005, "key": "user"}]}
            }
            """
        }
        let a = try RampartProcess(config: config())
        let b = try RampartProcess(config: config())
        try eventually { (try? HTTPClient.request(port: a.port, path: "/_rampart/readyz"))?.status == 200 }
        try eventually { (try? HTTPClient.request(port: b.port, path: "/_rampart/readyz"))?.status == 200 }
        let body = Array(#"{"model": "claude-sonnet-4-5", "stream": true, "messages": [{"role": "user", "content": "Write."}]}"#.utf8)
        #expect(try HTTPClient.request(port: b.port, method: "POST", path: "/v1/messages?delay_ms=1", body: body, headers: ["X-User-Id": "other"]).status == 200)
        let spend = try HTTPClient.request(port: a.port, method: "POST", path: "/v1/messages?delay_ms=1", body: body, headers: ["X-User-Id": "u9"])
        #expect(spend.status == 200)
        // The spend is recorded when the stream ends; B sees it through Redis.
        try eventually {
            (try? HTTPClient.request(port: b.port, method: "POST", path: "/v1/messages", body: body, headers: ["X-User-Id": "u9"]))?.status == 429
        }
        let refused = try HTTPClient.request(port: b.port, method: "POST", path: "/v1/messages", body: body, headers: ["X-User-Id": "u9"])
        #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "BUDGET_EXCEEDED")
        #expect(try HTTPClient.request(port: b.port, method: "POST", path: "/v1/messages", body: body, headers: ["X-User-Id": "other"]).status == 429,
                "other spent too in that first request")
    }
}
