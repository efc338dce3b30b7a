import Foundation
import Glibc
import Testing

/// `Tests/Fixtures/ws_server.py`: a WebSocket upstream of the `websockets` package, plain or over
/// TLS, echoing or playing OpenAI's Realtime API.
final class WebSocketUpstream: @unchecked Sendable {
    let child: ChildProcess
    let port: UInt16

    init(_ mode: String, cert: String? = nil, key: String? = nil) throws {
        child = try ChildProcess(Binaries.repoRoot + "/.venv/bin/python3",
                                 [Binaries.repoRoot + "/Tests/Fixtures/ws_server.py", mode] + [cert, key].compactMap { $0 })
        let line = try child.waitForLine(containing: "listening")
        guard let p = line.split(separator: " ").last.flatMap({ UInt16($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw TestFailure("cannot parse the WebSocket upstream's port from \(line)")
        }
        port = p
    }
}

@Suite(.serialized) struct WebSocketUpstreamTests {
    /// wss:// from the client, TLS to the upstream too (Rampart's own client TLS); a verifying
    /// upstream with a self-signed certificate is refused with 502, not trusted.
    @Test func socketsRunOverTLSBothWays() throws {
        let dir = NSTemporaryDirectory() + "rampart-wss-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, key) = try makeCertificate(in: dir)
        let upstream = try WebSocketUpstream("echo", cert: cert, key: key)
        let config = """
        {"server": {"listen": "127.0.0.1:0", "workers": 1, "tls": {"cert_file": "\(cert)", "key_file": "\(key)"}},
         "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
         "upstreams": {"lax": {"url": "https://127.0.0.1:\(upstream.port)", "tls_verify": false},
                       "strict": {"url": "https://127.0.0.1:\(upstream.port)"}},
         "routes": [{"name": "strict", "match": {"path_prefix": "/strict/"}, "upstream": "strict", "websocket": true},
                    {"name": "ws", "match": {"path_prefix": "/"}, "upstream": "lax", "websocket": true}]}
        """
        let rampart = try RampartProcess(config: config)
        let r = try webSocketClient("echo-plain", "wss://127.0.0.1:\(rampart.port)/chat", ca: cert)
        #expect(r["echo"] as? String == "over TLS both ways" && r["binary"] as? Int == 300_000, "\(r)")
        let strict = try webSocketClient("handshake", "wss://127.0.0.1:\(rampart.port)/strict/chat", ca: cert)
        #expect(strict["opened"] as? Bool == false && strict["status"] as? Int == 502, "\(strict)")
    }

    /// On an `openai-realtime` route each `response.done` is one AI call for the books: the usage
    /// view shows it per user and model, and when the caller's token quota is spent the session
    /// closes with 1008 after the response that spent it; the next handshake gets 429.
    @Test func realtimeUsageIsCountedAndQuotasCloseTheSession() throws {
        let upstream = try WebSocketUpstream("realtime")
        let config = testConfig(upstream: "http://127.0.0.1:\(upstream.port)", routes: """
            [{"name": "realtime", "match": {"path_prefix": "/v1/realtime"}, "format": "openai-realtime", "websocket": true,
              "quotas": [{"limit": 300, "per": "1h", "unit": "tokens", "key": "user"}]}]
            """, server: #""trusted_proxies": ["127.0.0.1/32"]"#, extraTop: #""identity": {"trusted_header": "X-User-Id"}"#)
        let rampart = try RampartProcess(config: config)
        let url = "ws://127.0.0.1:\(rampart.port)/v1/realtime?model=gpt-4o-realtime-preview"
        let user = #"{"X-User-Id": "rt-user-1"}"#
        // 150 tokens a response (the fake's usage): the quota of 300 is spent by the second.
        let r = try webSocketClient("realtime", url, ["5", user])
        #expect(r["done"] as? Int == 2, "\(r)")
        #expect(r["code"] as? Int == 1008 && r["reason"] as? String == "token quota exceeded", "\(r)")
        let next = try webSocketClient("realtime", url, ["1", user])
        #expect(next["opened"] as? Bool == false && next["status"] as? Int == 429, "\(next)")
        #expect((next["body"] as? String)?.contains("Too many tokens") == true)
        // Another user is not affected.
        let other = try webSocketClient("realtime", url, ["1", #"{"X-User-Id": "rt-user-2"}"#])
        #expect(other["done"] as? Int == 1 && other["code"] as? Int == 1000, "\(other)")

        let usage = try rampart.admin("GET", "/admin/usage?key=user:rt-user-1").json
        let windows = usage["windows"] as? [[String: Any]] ?? []
        let total = windows.first?["total"] as? [String: Any] ?? [:]
        #expect(total["requests"] as? Int == 2, "\(usage)")
        #expect(total["input_tokens"] as? Int == 160 && total["cache_read_tokens"] as? Int == 40 && total["output_tokens"] as? Int == 100, "\(total)")
        let models = windows.first?["models"] as? [String: Any] ?? [:]
        #expect(models["gpt-4o-realtime-preview"] != nil, "\(models)")
    }

    /// A cost budget closes a realtime session the same way once the spend crosses it.
    @Test func realtimeBudgetsCloseTheSession() throws {
        let upstream = try WebSocketUpstream("realtime")
        let config = testConfig(upstream: "http://127.0.0.1:\(upstream.port)", routes: """
            [{"name": "realtime", "match": {"path_prefix": "/v1/realtime"}, "format": "openai-realtime", "websocket": true}]
            """, server: #""trusted_proxies": ["127.0.0.1/32"]"#, extraTop: #""identity": {"trusted_header": "X-User-Id"}, "usage": {"prices": {"gpt-4o-realtime-preview": {"input_per_mtok": 5000, "output_per_mtok": 20000}}, "budgets": [{"per": "1d", "usd": 2.0, "key": "user"}]}"#)
        let rampart = try RampartProcess(config: config)
        // One response costs $1.50 (100 input tokens at $5,000 and 50 output at $20,000 per million,
        // cached input at the input price when no cache price is set): the second crosses $2.00.
        let r = try webSocketClient("realtime", "ws://127.0.0.1:\(rampart.port)/v1/realtime?model=gpt-4o-realtime-preview",
                                    ["5", #"{"X-User-Id": "rt-budget"}"#])
        #expect(r["done"] as? Int == 2 && r["code"] as? Int == 1008 && r["reason"] as? String == "AI budget exceeded", "\(r)")
    }
}
