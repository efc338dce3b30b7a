import Foundation
import Glibc
import Testing

/// One `/metrics` scrape, parsed by prometheus_client's own text-format parser
/// (Tests/Fixtures/metrics_parse.py), which also enforces the naming rules.
struct MetricsScrape {
    var text: String
    var types: [String: String]
    var samples: [(name: String, labels: [String: String], value: Double)]

    /// The sum over the samples named `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }

    static func take(_ rampart: RampartProcess) throws -> MetricsScrape {
        let r = try rampart.admin("GET", "/metrics")
        guard r.status == 200 else { throw TestFailure("/metrics answered \(r.status)") }
        return try parse(r.text)
    }

    static func parse(_ text: String) throws -> MetricsScrape {
        let (status, out) = try runPython(Binaries.repoRoot + "/Tests/Fixtures/metrics_parse.py", stdin: text)
        guard status == 0, let json = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] else {
            throw TestFailure("the scrape does not parse as Prometheus text: \(out)\n--- scrape ---\n\(text)")
        }
        let raw = json["samples"] as? [[Any]] ?? []
        return MetricsScrape(text: text, types: json["types"] as? [String: String] ?? [:], samples: raw.compactMap { s in
            guard s.count == 3, let name = s[0] as? String, let labels = s[1] as? [String: String], let value = s[2] as? Double else { return nil }
            return (name, labels, value)
        })
    }
}

/// Runs a script file (or `"-c"` and the code as the first argument) with the test venv's python
/// (prometheus_client, selenium and the anthropic SDK live there).
func runPython(_ script: String, _ arguments: [String] = [], stdin: String = "", environment: [String: String] = [:]) throws -> (Int32, String) {
    let python = Binaries.repoRoot + "/.venv/bin/python3"
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw TestFailure("the test venv is missing at \(python): `make test` creates it with prometheus_client and selenium")
    }
    let p = Process()
    let argv = CleanSignals.command([python, script] + arguments)   // what the script spawns (Rampart) inherits a clean mask
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let input = Pipe(), output = Pipe()
    p.standardInput = input; p.standardOutput = output; p.standardError = output
    try p.run()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, text)
}

/// Every metric family the README documents, with its type. The test fails when one is missing,
/// so the README table and the exposition cannot drift apart.
let documentedMetrics: [String: String] = [
    "rampart_requests": "counter", "rampart_request_duration_seconds": "histogram",
    "rampart_upstream_duration_seconds": "histogram", "rampart_upstream_errors": "counter",
    "rampart_timeouts": "counter", "rampart_bad_requests": "counter", "rampart_stream_errors": "counter",
    "rampart_quota_decisions": "counter", "rampart_store_errors": "counter", "rampart_upstream_retries": "counter",
    "rampart_breaker_transitions": "counter", "rampart_breaker_state": "gauge",
    "rampart_truncations": "counter", "rampart_truncated_messages": "counter", "rampart_stream_saves": "counter",
    "rampart_save_journal_depth": "gauge", "rampart_active_connections": "gauge", "rampart_in_flight_requests": "gauge",
    "rampart_connections_refused": "counter",
    "rampart_active_streams": "gauge", "rampart_received_bytes": "counter", "rampart_sent_bytes": "counter",
    "rampart_config_reloads": "counter", "rampart_ai_tokens": "counter", "rampart_ai_cost_usd": "counter",
    "rampart_ai_usage_estimated": "counter", "rampart_save_sanitized": "counter",
    "rampart_websocket_open": "gauge", "rampart_websocket_opened": "counter", "rampart_websocket_closed": "counter",
    "rampart_websocket_refused": "counter", "rampart_websocket_frames": "counter", "rampart_websocket_bytes": "counter",
    "rampart_websocket_session_seconds": "summary",
]

@Suite(.serialized) struct MetricsTests {
    private func config(app: String, deadPort: UInt16, dir: String) -> String {
        """
        {
          "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": ["127.0.0.1/32"],
                     "limits": {"header_timeout_ms": 1000}},
          "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
          "store": {"kind": "memory", "dir": "\(dir)"},
          "identity": {"trusted_header": "X-User-Id"},
          "upstreams": {"app": {"url": "\(app)", "retry": {"attempts": 2, "backoff": "10ms", "on": ["503"], "methods": ["GET"]},
                                "circuit_breaker": {"consecutive_failures": 50, "cooldown": "60s"}},
                        "dead": {"url": "http://127.0.0.1:\(deadPort)", "retry": {"attempts": 1}}},
          "routes": [
            {"name": "limited", "upstream": "app", "match": {"path_prefix": "/echo/limited"}, "quotas": [{"limit": 1, "per": "1m", "key": "user"}]},
            {"name": "dead", "match": {"path_prefix": "/dead"}, "upstream": "dead"},
            {"name": "slow", "upstream": "app", "match": {"path_prefix": "/slow"}, "timeouts": {"first_byte": "300ms"}},
            {"name": "chat", "upstream": "app", "match": {"methods": ["POST"], "path": "/api/ai/chat"},
             "truncate": {"format": "anthropic", "budget_tokens": 40, "chars_per_token": 4}},
            {"name": "generate-chapter", "upstream": "app", "match": {"methods": ["POST"], "path": "/api/ai/generate/chapter"},
             "stream_save": {"format": "anthropic",
                             "save": {"method": "PUT", "url": "/api/chapters/{body.chapterId}/content",
                                      "body": {"content": "{content}"}, "attempts": 1, "backoff": "10ms"},
                             "wait": "10s"}},
            {"name": "ai", "upstream": "app", "match": {"path_prefix": "/v1/"}},
            {"name": "default", "upstream": "app", "match": {"path_prefix": "/"}}],
          "usage": {"prices": {"claude-sonnet-4-5": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}}
        }
        """
    }

    /// Scrapes parse as Prometheus text, follow the naming rules, and each documented metric moves
    /// when its event happens — the way an ops team's alert would see it.
    @Test func everyDocumentedMetricMovesWhenItsEventHappens() throws {
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-metrics-" + UUID().uuidString
        let text = config(app: app.url, deadPort: freePort(), dir: dir)
        let rampart = try RampartProcess(config: text)
        let user = "metrics-user-7f3a"
        let h = ["X-User-Id": user, "Content-Type": "application/json"]
        let port = rampart.port

        let before = try MetricsScrape.take(rampart)
        for (name, type) in documentedMetrics {
            #expect(before.types[name] == type, "\(name) is documented as a \(type), the scrape has \(before.types[name] ?? "nothing")")
        }

        // Plain traffic: requests, latency, bytes.
        #expect(try HTTPClient.request(port: port, path: "/echo", headers: h).status == 200)
        // Quotas: one allowed, one limited (a 429 on that route).
        #expect(try HTTPClient.request(port: port, path: "/echo/limited", headers: h).status == 200)
        #expect(try HTTPClient.request(port: port, path: "/echo/limited", headers: h).status == 429)
        // An upstream that refuses connections; a first-byte timeout; a 503 retried once.
        #expect(try HTTPClient.request(port: port, path: "/dead").status == 502)
        #expect(try HTTPClient.request(port: port, path: "/slow?ms=5000").status == 504)
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/echo/retry", "times": 1, "status": 503}"#)
        #expect(try HTTPClient.request(port: port, path: "/echo/retry").status == 200)
        // Truncation of a long chat history.
        let messages = (0..<8).map { #"{"role": "\#($0 % 2 == 0 ? "user" : "assistant")", "content": "message \#($0) \#(String(repeating: "x", count: 60))"}"# }
        let chat = #"{"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [\#(messages.joined(separator: ","))]}"#
        #expect(try HTTPClient.request(port: port, method: "POST", path: "/api/ai/chat", body: Array(chat.utf8), headers: h).header("X-Rampart-Truncated") != nil)
        // A confirmed save, then one journaled because the app refuses it.
        let gen = Array(#"{"chapterId": "m1"}"#.utf8)
        #expect(try HTTPClient.request(port: port, method: "POST", path: "/api/ai/generate/chapter?delay_ms=1", body: gen, headers: h).text.contains(#""success":true"#))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let journaled = try HTTPClient.request(port: port, method: "POST", path: "/api/ai/generate/chapter?delay_ms=1", body: gen, headers: h).text
        #expect(journaled.contains(#""success":false"#) && journaled.contains(#""save_id":"#), "\(journaled.suffix(300))")
        try app.control("DELETE", "/_demo/faults")
        // AI usage and cost; a stream the upstream cuts halfway.
        let ai = Array(#"{"model": "claude-sonnet-4-5", "stream": true, "messages": [{"role": "user", "content": "Write."}]}"#.utf8)
        #expect(try HTTPClient.request(port: port, method: "POST", path: "/v1/messages?delay_ms=1", body: ai, headers: h).text.contains("message_stop"))
        _ = try HTTPClient.request(port: port, method: "POST", path: "/v1/messages?delay_ms=1&cut=1", body: ai, headers: h)
        // A request the strict parser refuses, and a client that never finishes its head.
        let bad = try HTTPClient(port: port)
        try bad.send("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        #expect(try bad.readResponse().status == 400)
        let slowloris = try HTTPClient(port: port)
        try slowloris.send("GET / HTTP/1.1\r\nHost: a\r\n")
        #expect(try slowloris.readResponse().status == 408)
        // Ops actions: a forced breaker, a good reload and a bad one.
        #expect(try rampart.admin("POST", "/admin/breakers/app/open").status == 200)
        let opened = try MetricsScrape.take(rampart)
        #expect(opened.value("rampart_breaker_state", ["upstream": "app"]) == 2)
        #expect(try rampart.admin("POST", "/admin/breakers/app/close").status == 200)
        #expect(try rampart.admin("POST", "/admin/reload").status == 200)
        try rampart.rewriteConfig("{")
        #expect(try rampart.admin("POST", "/admin/reload").status == 400)
        try rampart.rewriteConfig(text)

        let after = try MetricsScrape.take(rampart)
        func moved(_ name: String, _ labels: [String: String] = [:], by: Double = 1, when event: String) {
            let delta = after.value(name, labels) - before.value(name, labels)
            #expect(delta >= by, "\(name)\(labels) should move by \(by) when \(event); it moved \(delta)")
        }
        moved("rampart_requests_total", ["route": "default", "status": "200"], when: "a request is answered")
        moved("rampart_requests_total", ["route": "limited", "status": "429"], when: "a quota limits a request")
        moved("rampart_request_duration_seconds_count", ["route": "default"], when: "a request is answered")
        moved("rampart_upstream_duration_seconds_count", ["upstream": "app"], when: "the upstream answers")
        moved("rampart_upstream_errors_total", ["upstream": "dead", "kind": "connect"], when: "the upstream refuses connections")
        moved("rampart_timeouts_total", ["kind": "first_byte"], when: "the upstream is slower than first_byte")
        moved("rampart_timeouts_total", ["kind": "header"], when: "a client never finishes its head")
        moved("rampart_bad_requests_total", when: "the parser refuses a request")
        moved("rampart_stream_errors_total", when: "the upstream cuts a stream")
        moved("rampart_quota_decisions_total", ["route": "limited", "result": "allowed"], when: "a quota allows")
        moved("rampart_quota_decisions_total", ["route": "limited", "result": "limited"], when: "a quota limits")
        moved("rampart_upstream_retries_total", ["upstream": "app"], when: "a 503 is retried")
        moved("rampart_breaker_transitions_total", ["upstream": "app", "to": "open"], when: "ops open the breaker")
        moved("rampart_breaker_transitions_total", ["upstream": "app", "to": "closed"], when: "ops close it")
        moved("rampart_truncations_total", ["route": "chat"], when: "a chat history is cut")
        moved("rampart_truncated_messages_total", ["route": "chat"], by: 2, when: "messages are dropped")
        moved("rampart_stream_saves_total", ["result": "ok"], when: "a save is confirmed")
        moved("rampart_stream_saves_total", ["result": "journaled"], when: "a save is journaled")
        moved("rampart_save_journal_depth", when: "a save is journaled")
        moved("rampart_received_bytes_total", by: 100, when: "clients send")
        moved("rampart_sent_bytes_total", by: 100, when: "clients are answered")
        moved("rampart_config_reloads_total", ["result": "ok"], when: "a reload succeeds")
        moved("rampart_config_reloads_total", ["result": "failed"], when: "a reload is refused")
        moved("rampart_ai_tokens_total", ["route": "ai", "model": "claude-sonnet-4-5", "type": "output"], when: "the model streams tokens")
        #expect(after.value("rampart_ai_cost_usd_total", ["route": "ai"]) > before.value("rampart_ai_cost_usd_total", ["route": "ai"]))
        #expect(after.value("rampart_breaker_state", ["upstream": "app"]) == 0, "closed again")
        #expect(!after.text.contains(user), "a user id never becomes a label")

        // A replay drains the journal and is counted.
        let saves = try rampart.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []
        let id = try #require(saves.first?["id"] as? String)
        let one = try rampart.admin("GET", "/admin/saves/\(id)")
        #expect(one.status == 200 && (one.json["content"] as? String)?.isEmpty == false, "ops can read the content before replaying")
        #expect(try rampart.admin("POST", "/admin/saves/\(id)/replay").status == 200)
        let replayed = try MetricsScrape.take(rampart)
        #expect(replayed.value("rampart_stream_saves_total", ["result": "replayed"]) == 1)
        #expect(replayed.value("rampart_save_journal_depth") == 0)
    }

    /// Gauges follow what is open right now: a held SSE stream shows as a connection, a request
    /// in flight and an active stream, and all three fall back when the client leaves.
    @Test func gaugesFollowOpenConnectionsAndStreams() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let idle = try MetricsScrape.take(rampart)
        #expect(idle.value("rampart_active_streams") == 0 && idle.value("rampart_in_flight_requests") == 0)
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/sse/stepped?id=gauge&events=3"))
        #expect(try c.readHead().status == 200)
        try eventually("the stream shows in the gauges") {
            let s = try MetricsScrape.take(rampart)
            return s.value("rampart_active_streams") == 1 && s.value("rampart_in_flight_requests") == 1 && s.value("rampart_active_connections") >= 1
        }
        shutdown(c.fd, Int32(SHUT_RDWR))   // the client leaves mid-stream
        try eventually("the gauges fall back when the client leaves") {
            let s = try MetricsScrape.take(rampart)
            return s.value("rampart_active_streams") == 0 && s.value("rampart_in_flight_requests") == 0
        }
    }

    /// A Redis outage with `on_unavailable: allow` lets traffic through and counts store errors.
    @Test func storeErrorsCountARedisOutage() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: #"""
            [{"name": "default", "match": {"path_prefix": "/"}, "quotas": [{"limit": 100, "per": "1m", "key": "ip"}]}]
            """#, extraTop: #""store": {"kind": "redis", "url": "redis://127.0.0.1:\#(freePort())/0", "on_unavailable": "allow", "dir": "\#(NSTemporaryDirectory())rampart-metrics-\#(UUID().uuidString)"}"#))
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo").status == 200, "allowed through the outage")
        try eventually("a store error is counted") {
            try MetricsScrape.take(rampart).value("rampart_store_errors_total", ["kind": "quota"]) >= 1
        }
    }
}
