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
