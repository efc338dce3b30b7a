import Foundation
import Testing

/// A gateway with what the dashboard shows: a confirmed-save route, quota routes keyed by user, and
/// usage prices for the demo app's `/v1/messages`.
private func dashboardConfig(upstream: String, dir: String, store: String? = nil) -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": ["127.0.0.1/32"]},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "store": \(store ?? #"{"kind": "memory", "dir": "\#(dir)"}"#),
      "identity": {"trusted_header": "X-User-Id"},
      "upstreams": {"app": {"url": "\(upstream)",
                            "circuit_breaker": {"consecutive_failures": 5, "failure_rate": 0.5, "min_requests": 10, "window": "60s", "cooldown": "30s"}}},
      "routes": [{"name": "generate-chapter", "match": {"methods": ["POST"], "path": "/api/ai/generate/chapter"},
                  "quotas": [{"limit": 10, "per": "1h", "key": "user"}],
                  "stream_save": {"format": "anthropic",
                                  "save": {"method": "PUT", "url": "/api/chapters/{body.chapterId}/content",
                                           "body": {"content": "{content}", "chapterId": "{body.chapterId}"},
                                           "attempts": 2, "backoff": "100ms"},
                                  "echo": {"chapterId": "{body.chapterId}"}, "wait": "10s", "continue_on_disconnect": true}},
                 {"name": "chat", "match": {"methods": ["POST"], "path": "/api/ai/chat"},
                  "quotas": [{"limit": 50, "per": "1h"}], "truncate": {"format": "anthropic", "budget_tokens": 8000}},
                 {"name": "llm", "match": {"path_prefix": "/v1/"}, "quotas": [{"limit": 100, "per": "1h"}, {"limit": 1000, "per": "1h", "key": "route"}]},
                 {"name": "default", "match": {"path_prefix": "/"}, "quotas": [{"limit": 600, "per": "1m"}]}],
      "usage": {"prices": {"claude-sonnet-4-5": {"input_per_mtok": 3.0, "output_per_mtok": 15.0},
                           "gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}}
    }
    """
}

/// A generation through Rampart whose save fails (the demo app is told to fail saves): its save id.
private func journaledSave(_ rampart: RampartProcess, chapter: String, user: String) throws -> String {
    let r = try HTTPClient.request(port: rampart.port, method: "POST", path: "/api/ai/generate/chapter?delay_ms=1",
                                   body: Array(#"{"chapterId": "\#(chapter)"}"#.utf8),
                                   headers: ["Content-Type": "application/json", "X-User-Id": user])
    let last = r.text.components(separatedBy: "\n").last { $0.hasPrefix("data: ") } ?? ""
    let status = (try? JSONSerialization.jsonObject(with: Data(last.dropFirst(6).utf8))) as? [String: Any] ?? [:]
    guard status["success"] as? Bool == false, let id = status["save_id"] as? String else {
        throw TestFailure("expected a journaled save, got \(last)")
    }
    return id
}

private func ask(_ rampart: RampartProcess, user: String) throws -> HTTPClient.Response {
    try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/messages?delay_ms=1",
                           body: Array(#"{"model": "claude-sonnet-4-5", "stream": true, "messages": [{"role": "user", "content": "Write."}]}"#.utf8),
                           headers: ["Content-Type": "application/json", "X-User-Id": user])
}

@Suite(.serialized) struct DashboardTests {
    let dir = NSTemporaryDirectory() + "rampart-dashboard-" + UUID().uuidString

    /// The page needs no token (it holds no data) and comes with its own strict CSP; the API
    /// behind it still needs the token.
    @Test func pageIsServedWithoutTheTokenUnderAStrictCSP() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: dashboardConfig(upstream: app.url, dir: dir))
        let page = try rampart.admin("GET", "/admin/", token: nil)
        #expect(page.status == 200 && page.header("Content-Type") == "text/html; charset=utf-8")
        let csp = try #require(page.header("Content-Security-Policy"))
        for directive in ["default-src 'none'", "script-src 'sha256-", "style-src 'sha256-", "connect-src 'self'",
                          "img-src 'self' data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"] {
            #expect(csp.contains(directive), "CSP lacks \(directive): \(csp)")
        }
        #expect(!csp.contains("unsafe"), "no unsafe-inline or unsafe-eval")
        #expect(page.header("X-Frame-Options") == "DENY" && page.header("Referrer-Policy") == "no-referrer")
        #expect(page.header("Cache-Control") == "no-store" && page.header("X-Content-Type-Options") == "nosniff")
        let html = page.text
        #expect(html.components(separatedBy: "<script>").count == 2 && html.components(separatedBy: "<style>").count == 2)
        #expect(!html.contains("<script src") && !html.contains("<link rel=\"stylesheet\"") && !html.contains("http://") && !html.contains("https://"),
                "no external assets")
        #expect(html.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil && !html.contains("style=\""),
                "no inline handlers or style attributes (the CSP would refuse them)")

        let redirect = try rampart.admin("GET", "/admin", token: nil)
        #expect(redirect.status == 308 && redirect.header("Location") == "/admin/")
        #expect(try rampart.admin("HEAD", "/admin/", token: nil).status == 200)
        let post = try rampart.admin("POST", "/admin/", token: nil)
        #expect(post.status == 405 && (post.json["error"] as? [String: Any])?["code"] as? String == "METHOD_NOT_ALLOWED")
        #expect(try rampart.admin("GET", "/admin/status", token: nil).status == 401, "the data still needs the token")
        #expect(try rampart.admin("GET", "/admin/quotas/top", token: nil).status == 401)
        #expect(try rampart.admin("GET", "/admin/usage", token: nil).status == 401)
    }

    /// The API pieces the dashboard added: top callers by quota use, usage by model for everyone,
    /// and request counters in /admin/status.
    @Test func topCallersUsageForEveryoneAndRequestCounters() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: dashboardConfig(upstream: app.url, dir: dir))
        for _ in 0..<5 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["X-User-Id": "alice"]).status == 200) }
        for _ in 0..<2 { _ = try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["X-User-Id": "bob"]) }
        #expect(try ask(rampart, user: "bob").status == 200)
        _ = try HTTPClient.request(port: rampart.port, path: "/boom", headers: ["X-User-Id": "carol"])
        try checkTop(rampart)

        // Usage by model for every caller; the spend is recorded as the stream ends.
        try eventually {
            let usage = try rampart.admin("GET", "/admin/usage")
            let hour = (usage.json["windows"] as? [[String: Any]])?.first
            let model = (hour?["models"] as? [String: Any])?["claude-sonnet-4-5"] as? [String: Any]
            let since = ((usage.json["since_start"] as? [String: Any])?["models"] as? [String: Any])?["claude-sonnet-4-5"] as? [String: Any]
            return usage.status == 200 && usage.json["key"] is NSNull && (model?["output_tokens"] as? Int ?? 0) > 0
                && (model?["usd"] as? Double ?? 0) > 0 && since?["requests"] as? Int == 1
        }
        #expect(try rampart.admin("GET", "/admin/usage?key=").status == 400, "an empty key is a mistake, not everyone")

        let status = try rampart.admin("GET", "/admin/status").json
        #expect(status["requests_total"] as? Int == 9)
        let classes = status["requests_by_class"] as? [String: Int] ?? [:]
        #expect(classes["2xx"] == 8 && classes["5xx"] == 1, "\(classes)")
    }

    /// The same top-callers answer from the Redis store (a bounded SCAN of the quota indexes).
    @Test func topCallersFromRedis() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let store = #"{"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0"}"#
        let rampart = try RampartProcess(config: dashboardConfig(upstream: app.url, dir: dir, store: store))
        try eventually { (try? HTTPClient.request(port: rampart.port, path: "/_rampart/readyz"))?.status == 200 }
        for _ in 0..<5 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["X-User-Id": "alice"]).status == 200) }
        for _ in 0..<2 { _ = try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["X-User-Id": "bob"]) }
        #expect(try ask(rampart, user: "bob").status == 200)
        _ = try HTTPClient.request(port: rampart.port, path: "/boom", headers: ["X-User-Id": "carol"])
        try checkTop(rampart)
        redis.stop()
        let down = try rampart.admin("GET", "/admin/quotas/top")
        #expect(down.status == 503 && (down.json["error"] as? [String: Any])?["code"] as? String == "OVERLOADED")
    }

    /// alice 5 and bob 2 on `default`, bob 1 on `llm` (plus the route-global counter), carol 1.
    private func checkTop(_ rampart: RampartProcess) throws {
        let top = try rampart.admin("GET", "/admin/quotas/top")
        #expect(top.status == 200 && top.json["complete"] as? Bool == true)
        let items = top.json["top"] as? [[String: Any]] ?? []
        let first = try #require(items.first)
        #expect(first["key"] as? String == "user:alice" && first["route"] as? String == "default" && first["used"] as? Int == 5)
        #expect(first["limit"] as? Int == 600 && first["per"] as? String == "1m" && first["remaining"] as? Int == 595 && first["quota_key"] as? String == "user")
        #expect(items.contains { $0["key"] as? String == "user:bob" && $0["route"] as? String == "default" && $0["used"] as? Int == 2 })
        #expect(items.contains { $0["key"] as? String == "route" && $0["route"] as? String == "llm" && $0["limit"] as? Int == 1000 })
        #expect(items.count == 5, "\(items)")
        let one = try rampart.admin("GET", "/admin/quotas/top?limit=1").json["top"] as? [[String: Any]]
        #expect(one?.count == 1 && one?.first?["key"] as? String == "user:alice")
        let llm = try rampart.admin("GET", "/admin/quotas/top?route=llm").json["top"] as? [[String: Any]] ?? []
        #expect(llm.count == 2 && llm.allSatisfy { $0["route"] as? String == "llm" })
        let bad = try rampart.admin("GET", "/admin/quotas/top?limit=0")
        #expect(bad.status == 400 && (bad.json["error"] as? [String: Any])?["code"] as? String == "BAD_REQUEST")
        #expect(try rampart.admin("POST", "/admin/quotas/top").status == 405)
    }

    /// In a real browser: sign in, see breakers and the journal from live data, no CSP violation,
    /// force the breaker, delete one save, replay another (failing, then succeeding).
    @Test func aBrowserOperatesTheDashboard() throws {
        let python = Binaries.repoRoot + "/.venv/bin/python3"
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", python] where !FileManager.default.isExecutableFile(atPath: tool) {
            Issue.record("\(tool) is missing: `make test` installs chromium and chromium-driver with apt and selenium into .venv")
            return
        }
        let app = try DemoApp()
        let rampart = try RampartProcess(config: dashboardConfig(upstream: app.url, dir: dir))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        _ = try journaledSave(rampart, chapter: "c-kept", user: "alice")
        let deleted = try journaledSave(rampart, chapter: "c-deleted", user: "bob")
        let replayed = try journaledSave(rampart, chapter: "c-replayed", user: "alice")
        #expect(try ask(rampart, user: "alice").status == 200)
        for _ in 0..<3 { _ = try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["X-User-Id": "alice"]) }

        let script = Process()
        script.executableURL = URL(fileURLWithPath: python)
        script.arguments = [Binaries.repoRoot + "/Tests/Fixtures/dashboard_check.py",
                            "--admin-url", "http://127.0.0.1:\(rampart.adminPort!)", "--main-url", "http://127.0.0.1:\(rampart.port)",
                            "--app-url", app.url, "--token", RampartProcess.adminToken,
                            "--replay-id", replayed, "--replay-chapter", "c-replayed", "--delete-id", deleted,
                            "--expect-caller", "user:alice", "--expect-model", "claude-sonnet-4-5"]
        let output = Pipe()
        script.standardOutput = output
        script.standardError = output
        try script.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        script.waitUntilExit()
        #expect(script.terminationStatus == 0, "dashboard_check.py failed:\n\(text)")
        #expect(try HTTPClient.request(port: app.port, path: "/api/chapters/c-replayed/content").status == 200)
        let left = (try rampart.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(left.count == 1 && !left.contains(replayed) && !left.contains(deleted), "only the kept save is left: \(left)")
    }
}
