import Foundation
import Glibc
import Testing

/// Runs one scenario of `Tests/Fixtures/ws_client.py` (the `websockets` client from PyPI) and
/// returns what it printed on its `RESULT` line.
func webSocketClient(_ scenario: String, _ url: String, _ args: [String] = [], ca: String? = nil) throws -> [String: Any] {
    let (status, out) = try runPython(Binaries.repoRoot + "/Tests/Fixtures/ws_client.py", [scenario, url] + args,
                                      environment: ca.map { ["WS_CA": $0] } ?? [:])
    guard status == 0, let result = printedJSON("RESULT", in: out) as? [String: Any] else {
        throw TestFailure("ws_client.py \(scenario) exited \(status): \(out)")
    }
    return result
}

/// A route table with one WebSocket route (`ws`) besides the catch-all, and `extra` in its object.
func webSocketRoutes(_ ws: String = "true", extra: String = "") -> String {
    #"[{"name": "ws", "match": {"path_prefix": "/ws/"}, "websocket": \#(ws)\#(extra.isEmpty ? "" : ", " + extra)}, {"name": "default", "match": {"path_prefix": "/"}}]"#
}

@Suite(.serialized) struct WebSocketTests {
    /// An unmodified app's socket through Rampart: text, binary, a fragmented message, ping/pong,
    /// a flood that needs backpressure, the subprotocol, and Rampart's headers on the 101; one
    /// access line and the metrics for the session.
    @Test func framesFlowBothWaysThroughTheGateway() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: webSocketRoutes()))
        let r = try webSocketClient("echo", "ws://127.0.0.1:\(rampart.port)/ws/echo")
        #expect(r["text"] as? String == "hello")
        #expect(r["binary_ok"] as? Bool == true)
        #expect(r["fragmented"] as? String == "frag-men-ted")
        #expect(r["pong"] as? Bool == true)
        #expect(r["flood_bytes"] as? Int == 200 * 4096)
        #expect(r["subprotocol"] as? String == "chat.v1")
        #expect(r["close_code"] as? Int == 1000)
        let headers = r["response_headers"] as? [String: String] ?? [:]
        #expect(headers["x-frame-options"] == "DENY" && headers["x-request-id"] != nil, "Rampart's headers on the 101: \(headers)")

        try eventually { rampart.accessLog.contains { $0["status"] as? Int == 101 } }
        let line = try #require(rampart.accessLog.first { $0["status"] as? Int == 101 })
        #expect(line["route"] as? String == "ws" && line["upstream_status"] as? Int == 101)
        #expect((line["bytes_out"] as? Int ?? 0) > 200 * 4096, "the session's bytes are in its access line: \(line)")
        let m = try MetricsScrape.take(rampart)
        #expect(m.value("rampart_websocket_open") == 0)
        #expect(m.value("rampart_websocket_opened_total", ["route": "ws"]) == 1)
        #expect(m.value("rampart_websocket_closed_total", ["route": "ws", "code": "1000"]) == 1)
        #expect(m.value("rampart_websocket_frames_total", ["route": "ws", "direction": "upstream_to_client"]) >= 203)
        #expect(m.value("rampart_websocket_bytes_total", ["route": "ws", "direction": "upstream_to_client"]) > 200 * 4096)
        #expect(m.value("rampart_websocket_session_seconds_count", ["route": "ws"]) == 1)
    }

    /// Routes without `websocket` refuse the upgrade with the SPEC error; a broken handshake is a 400 too.
    @Test func otherRoutesAndBrokenHandshakesGet400() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: webSocketRoutes()))
        let r = try webSocketClient("handshake", "ws://127.0.0.1:\(rampart.port)/echo/not-a-socket")
        #expect(r["opened"] as? Bool == false && r["status"] as? Int == 400)
        #expect((r["body"] as? String)?.contains("\"code\":\"BAD_REQUEST\"") == true, "\(r)")
        let bad = try HTTPClient.request(port: rampart.port, method: "GET", path: "/ws/echo", headers: [
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="])
        #expect(bad.status == 400 && bad.text.contains("Sec-WebSocket-Version must be 13"), "\(bad.text)")
    }

    /// Cross-site WebSocket hijacking: a browser origin that is neither the route's own nor
    /// allowed gets 403 before any upgrade; allowed, same-origin and non-browser clients connect.
    @Test func crossSiteOriginsAreRefusedBeforeTheUpgrade() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url,
                                                            routes: webSocketRoutes(#"{"allow_origins": ["https://app.example"]}"#)))
        let url = "ws://127.0.0.1:\(rampart.port)/ws/echo"
        let evil = try webSocketClient("handshake", url, ["https://evil.example"])
        #expect(evil["opened"] as? Bool == false && evil["status"] as? Int == 403)
        #expect((evil["body"] as? String)?.contains("\"code\":\"FORBIDDEN\"") == true, "\(evil)")
        for origin in ["https://app.example", "http://127.0.0.1:\(rampart.port)", ""] {
            let ok = try webSocketClient("handshake", url, [origin])
            #expect(ok["opened"] as? Bool == true && ok["echo"] as? String == "hi", "origin '\(origin)': \(ok)")
        }
        #expect(try MetricsScrape.take(rampart).value("rampart_websocket_refused_total", ["route": "ws", "reason": "origin"]) == 1)
    }

    /// `max_message_bytes` either way: the sender's message never reaches the other side and both
    /// get close 1009.
    @Test func tooLargeMessagesCloseWith1009() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: webSocketRoutes(#"{"max_message_bytes": 4096}"#)))
        let url = "ws://127.0.0.1:\(rampart.port)/ws/echo"
        let up = try webSocketClient("too-big", url, ["5000"])
        #expect(up["first"] as? String == "small" && up["closed"] as? Bool == true && up["code"] as? Int == 1009, "\(up)")
        // The app sends 5000 bytes when asked ("big:5000" is the demo app's command): the client
        // never gets them, only the close; 4000 bytes pass.
        let down = try webSocketClient("command", url, ["big:5000"])
        #expect(down["closed"] as? Bool == true && down["code"] as? Int == 1009, "\(down)")
        let fits = try webSocketClient("command", url, ["big:4000"])
        #expect(fits["closed"] as? Bool == false && fits["length"] as? Int == 4000, "\(fits)")
        try eventually { rampart.accessLog.filter { ($0["reason"] as? String)?.contains("message over 4096 bytes") == true }.count == 2 }
        #expect(try MetricsScrape.take(rampart).value("rampart_websocket_closed_total", ["route": "ws", "code": "1009"]) == 2)
    }

    /// A client that stops answering is pinged every `ping_interval`, then closed with 1001 at `idle`.
    @Test func silentPeersArePingedThenClosedAsIdle() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url,
                                                            routes: webSocketRoutes(#"{"idle": "2s", "ping_interval": "500ms"}"#)))
        let r = try webSocketClient("silent", "127.0.0.1", ["\(rampart.port)", "/ws/echo", "30"])
        #expect(r["status"] as? Int == 101)
        #expect((r["pings"] as? Int ?? 0) >= 1, "Rampart pings a silent client: \(r)")
        let close = r["close"] as? [String: Any]
        #expect(close?["code"] as? Int == 1001 && close?["reason"] as? String == "idle timeout", "\(r)")
        #expect((r["seconds"] as? Double ?? 99) < 25)
    }

    /// `max_per_user` caps open sockets per caller (429), `max_session` ends a session with 1008,
    /// and the handshake counts as one request against the route's quota.
    @Test func perUserCapSessionLimitAndQuotas() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url,
            routes: webSocketRoutes(#"{"max_per_user": 2, "max_session": "2s", "idle": "60s"}"#, extra: #""quotas": [{"limit": 4, "per": "1m", "key": "ip"}]"#)))
        let url = "ws://127.0.0.1:\(rampart.port)/ws/echo"
        let held = try webSocketClient("hold", url, ["3", "20"])
        #expect(held["statuses"] as? [Int] == [101, 101, 429], "\(held)")
        let closes = held["closes"] as? [[String: Any]] ?? []
        #expect(closes.count == 2 && closes.allSatisfy { $0["code"] as? Int == 1008 && $0["reason"] as? String == "session time limit" },
                "\(closes)")
        // Four handshakes so far (three allowed by the quota, one refused by the cap): the fifth is over the quota.
        let fourth = try webSocketClient("handshake", url)
        #expect(fourth["opened"] as? Bool == true)
        let fifth = try webSocketClient("handshake", url)
        #expect(fifth["opened"] as? Bool == false && fifth["status"] as? Int == 429, "\(fifth)")
        #expect((fifth["headers"] as? [String: String])?["retry-after"] != nil)
        #expect(try MetricsScrape.take(rampart).value("rampart_websocket_refused_total", ["reason": "max_per_user"]) == 1)
    }

    /// The app's own close code reaches the client and the metrics.
    @Test func appCloseCodesReachTheClient() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: webSocketRoutes()))
        let r = try webSocketClient("command", "ws://127.0.0.1:\(rampart.port)/ws/echo", ["close:4001"])
        #expect(r["code"] as? Int == 4001 && r["reason"] as? String == "demo close", "\(r)")
        try eventually { try MetricsScrape.take(rampart).value("rampart_websocket_closed_total", ["code": "4001"]) == 1 }
    }

    /// SIGTERM: open sockets are told 1001 and the process exits once they closed.
    @Test func shutdownClosesOpenSocketsWith1001() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: webSocketRoutes(),
                                                            server: #""drain_delay": "0s", "drain_timeout_ms": 10000"#))
        let client = try ChildProcess(Binaries.repoRoot + "/.venv/bin/python3",
                                      [Binaries.repoRoot + "/Tests/Fixtures/ws_client.py", "wait-close", "ws://127.0.0.1:\(rampart.port)/ws/echo"])
        _ = try client.waitForLine(containing: "READY")
        rampart.child.signal(SIGTERM)
        let line = try client.waitForLine(containing: "RESULT")
        let r = try #require(printedJSON("RESULT", in: line) as? [String: Any])
        #expect(r["code"] as? Int == 1001 && r["reason"] as? String == "server shutting down", "\(r)")
        #expect(try rampart.child.waitForExit(timeout: 20) == 0)
    }
}

@Suite(.serialized) struct WebSocketBrowserTests {
    /// A browser's `WebSocket` (headless chromium): the demo page through Rampart, under a CSP that
    /// allows only its own origin, talks to the demo app's socket through Rampart; a page of
    /// another origin (the app on its own port) is refused before the upgrade.
    @Test func chromiumSocketsWorkSameOriginAndAreRefusedCrossSite() throws {
        let app = try DemoApp()
        let config = testConfig(upstream: app.url, routes: #"[{"name": "default", "match": {"path_prefix": "/"}, "websocket": true}]"#)
            .replacingOccurrences(of: #""set": {"X-Frame-Options": "DENY""#,
                                  with: #""set": {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; connect-src 'self'", "X-Frame-Options": "DENY""#)
        let rampart = try RampartProcess(config: config)
        let (status, out) = try runPython(Binaries.repoRoot + "/Tests/Fixtures/ws_browser_check.py",
                                          ["http://127.0.0.1:\(rampart.port)/", "ws://127.0.0.1:\(rampart.port)/ws/echo", app.url + "/"])
        #expect(status == 0, "\(out)")
        let r = try #require(printedJSON("RESULT", in: out) as? [String: Any], "\(out)")
        let same = r["same_origin"] as? [String: Any] ?? [:]
        #expect(same["text"] as? String == "hello from chromium", "\(r)")
        #expect(same["binary"] as? [Int] == [1, 2, 3, 250], "\(r)")
        #expect((same["close"] as? [String: Any])?["code"] as? Int == 1000)
        let cross = r["cross_origin"] as? [String: Any] ?? [:]
        #expect((cross["events"] as? [String])?.contains("open") == false, "a cross-site page must not get the socket: \(r)")
        #expect((cross["close"] as? [String: Any])?["code"] as? Int == 1006, "\(r)")
        try eventually {
            rampart.accessLog.contains { $0["path"] as? String == "/ws/echo" && $0["status"] as? Int == 403 && $0["error"] as? String == "FORBIDDEN" }
        }
    }
}
