import Foundation
import Testing

@Suite(.serialized) struct TruncationTests {
    @Test func chatHistoryIsCutToTheTokenBudget() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: #"""
            [{"name": "chat", "match": {"methods": ["POST"], "path": "/api/ai/chat"},
              "truncate": {"format": "anthropic", "budget_tokens": 60, "chars_per_token": 4}},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """#))
        var messages: [String] = []
        for i in 0..<10 {
            let role = i % 2 == 0 ? "user" : "assistant"
            messages.append(#"{"role": "\#(role)", "content": "message \#(i) \#(String(repeating: "x", count: 70))"}"#)
        }
        let body = #"{"model": "claude-sonnet-4-5", "max_tokens": 1.50e3, "system": "You are terse.", "messages": [\#(messages.joined(separator: ", "))]}"#
        let r = try HTTPClient.request(port: rampart.port, method: "POST", path: "/api/ai/chat", body: Array(body.utf8),
                                       headers: ["Content-Type": "application/json", "X-Request-Id": "trunc-1"])
        #expect(r.status == 200)
        let note = try #require(r.header("X-Rampart-Truncated"))
        #expect(note.hasPrefix("dropped=") && note.contains("tokens="))
        let received = r.json["received"] as? [String: Any]
        let kept = received?["messages"] as? Int ?? 0
        #expect(kept > 0 && kept < 10, "kept \(kept) of 10")
        let forwarded = r.json["body"] as? [String: Any]
        let first = (forwarded?["messages"] as? [[String: Any]])?.first
        #expect(first?["role"] as? String == "user", "the first kept message is a user message")
        #expect(forwarded?["system"] as? String == "You are terse.", "the system prompt is kept")
        #expect((forwarded?["messages"] as? [[String: Any]])?.last?["content"] as? String == "message 9 " + String(repeating: "x", count: 70))
        try eventually { rampart.accessLog.contains { $0["request_id"] as? String == "trunc-1" && ($0["truncated"] as? String)?.hasPrefix("dropped=") == true } }
        #expect(try rampart.admin("GET", "/metrics").text.contains("rampart_truncations_total{route=\"chat\"} 1"))

        let huge = #"{"messages": [{"role": "user", "content": "\#(String(repeating: "y", count: 2000))"}]}"#
        let tooLarge = try HTTPClient.request(port: rampart.port, method: "POST", path: "/api/ai/chat", body: Array(huge.utf8))
        #expect(tooLarge.status == 413 && (tooLarge.json["error"] as? [String: Any])?["code"] as? String == "CONTEXT_TOO_LARGE")
        let broken = try HTTPClient.request(port: rampart.port, method: "POST", path: "/api/ai/chat", body: Array(#"{"messages": "#.utf8))
        #expect(broken.status == 400)
    }
}
