import Foundation
import Glibc
import Testing

/// Runs one scenario of `Tests/Fixtures/h2_client.py` (the `h2` package from PyPI) and returns
/// what it printed on its `RESULT` line.
func h2Client(_ scenario: String, _ port: String, _ args: [String] = []) throws -> [String: Any] {
    let (status, out) = try runPython(Binaries.repoRoot + "/Tests/Fixtures/h2_client.py", [scenario, port] + args)
    guard status == 0, let result = printedJSON("RESULT", in: out) as? [String: Any] else {
        throw TestFailure("h2_client.py \(scenario) exited \(status): \(out)")
    }
    return result
}

/// A gateway config with HTTP/2 on: `h2c` on the plain listener, a quota route and a catch-all.
func http2Config(app: String, http2: String = #""enabled": true, "h2c": true"#, server: String = "") -> String {
    testConfig(upstream: app, routes: """
        [{"name": "limited", "match": {"path_prefix": "/echo/limited"}, "quotas": [{"limit": 2, "per": "1m", "key": "ip"}]},
         {"name": "default", "match": {"path_prefix": "/"}}]
        """, server: #""http2": {\#(http2)}"# + (server.isEmpty ? "" : ", " + server))
}

@Suite(.serialized) struct HTTP2Tests {
    /// Over h2c and over TLS with ALPN h2, one connection carries concurrent streams: GETs, a POST
    /// with a body, an SSE stream and one over the body limit, each answered as over HTTP/1.1 (the app sees an
    /// HTTP/1.1 request with Host, the body, the cookies joined; the client gets Rampart's headers,
    /// request ids, SSE events as they come, SPEC §4 errors), and metrics say `protocol="h2"`.
    @Test(arguments: ["h2c", "tls"])
    func streamsBehaveAsHTTP1Requests(_ mode: String) throws {
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-h2-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var server = ""
        if mode == "tls" {
            let (cert, key) = try makeCertificate(in: dir)
            server = #""tls": {"cert_file": "\#(cert)", "key_file": "\#(key)"}"#
        }
        let rampart = try RampartProcess(config: http2Config(app: app.url, server: server))
        let port = mode == "tls" ? "tls:\(rampart.port)" : "\(rampart.port)"
        let r = try h2Client("requests", port)
        for i in 0..<5 {
            let get = r["get\(i)"] as? [String: Any] ?? [:]
            let headers = get["headers"] as? [String: String] ?? [:]
            #expect(get["status"] as? String == "200", "\(get)")
            #expect(headers["x-frame-options"] == "DENY" && headers["x-request-id"] == "h2-req-\(i)", "\(headers)")
            #expect(headers["connection"] == nil && headers["transfer-encoding"] == nil, "no connection-specific fields in h2: \(headers)")
            let echo = try JSONSerialization.jsonObject(with: Data((get["body"] as? String ?? "").utf8)) as? [String: Any]
            #expect(echo?["target"] as? String == "/echo/\(i)?q=\(i)")
            #expect(echo?["version"] as? String == "HTTP/1.1", "the upstream speaks HTTP/1.1")
        }
        let post = r["post"] as? [String: Any] ?? [:]
        let echo = try JSONSerialization.jsonObject(with: Data((post["body"] as? String ?? "").utf8)) as? [String: Any] ?? [:]
        #expect(echo["body_bytes"] as? Int == 14_000, "\(echo)")
        let sent = (echo["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        #expect(sent.first { $0.0 == "cookie" }?.1 == "a=1; b=2", "split cookies are joined for HTTP/1.1: \(sent)")
        #expect(sent.first { $0.0 == "host" }?.1 == "127.0.0.1:\(rampart.port)", "the :authority is the Host: \(sent)")
        let sse = r["sse"] as? [String: Any] ?? [:]
        #expect((sse["headers"] as? [String: String])?["content-type"]?.hasPrefix("text/event-stream") == true)
        #expect(sse["ended"] as? Bool == true && ((sse["body"] as? String)?.components(separatedBy: "event: tick").count ?? 0) >= 4, "\(sse)")
        let tooLarge = r["too_large"] as? [String: Any] ?? [:]
        #expect(tooLarge["status"] as? String == "413" && (tooLarge["body"] as? String)?.contains("\"code\":\"PAYLOAD_TOO_LARGE\"") == true,
                "Rampart's own errors in SPEC §4 form: \(tooLarge)")

        // HTTP/1.1 on the same listener still works (ALPN http/1.1 or no preface).
        if mode == "h2c" { #expect(try HTTPClient.request(port: rampart.port, path: "/echo/h1").status == 200) }
        let m = try MetricsScrape.take(rampart)
        #expect(m.value("rampart_requests_total", ["route": "default", "status": "200", "protocol": "h2"]) >= 6)
    }

    /// Quotas over HTTP/2: the RateLimit headers, then 429 with Retry-After, as over HTTP/1.1.
    @Test func quotasAnswerTheSameOverH2() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url))
        var statuses: [String] = [], last: [String: String] = [:]
        for _ in 0..<3 {
            let (status, out) = try curl(["-s", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null", "http://127.0.0.1:\(rampart.port)/echo/limited"])
            #expect(status == 0)
            let lines = out.split(separator: "\r\n")
            statuses.append((lines.first ?? "").trimmingCharacters(in: .whitespaces))
            last = Dictionary(lines.dropFirst().compactMap { l -> (String, String)? in
                guard let c = l.firstIndex(of: ":") else { return nil }
                return (l[..<c].lowercased(), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces))
            }, uniquingKeysWith: { a, _ in a })
        }
        #expect(statuses == ["HTTP/2 200", "HTTP/2 200", "HTTP/2 429"], "\(statuses)")
        #expect(last["retry-after"] != nil && last["ratelimit-policy"]?.contains("q=2") == true, "\(last)")
    }

    /// A slow reader on one stream (its window never reopened) holds its own bytes only: the other
    /// streams of the connection finish, and Rampart's memory stays bounded although the app sends 64 MiB.
    @Test func aSlowStreamDoesNotStallItsConnection() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url))
        let before = rampart.child.rssBytes
        let client = try ChildProcess(Binaries.repoRoot + "/.venv/bin/python3",
                                      [Binaries.repoRoot + "/Tests/Fixtures/h2_client.py", "slow-stream", "\(rampart.port)", "\(64 << 20)"])
        _ = try client.waitForLine(containing: "HOLDING", timeout: 60)
        Thread.sleep(forTimeInterval: 1)   // let the stalled stream fill what it may
        let held = rampart.child.rssBytes
        let line = try client.waitForLine(containing: "RESULT", timeout: 30)
        let r = try #require(printedJSON("RESULT", in: line) as? [String: Any])
        #expect(r["small_done"] as? Int == 20, "the other streams finished: \(r)")
        #expect(r["big_ended"] as? Bool == false && (r["big_received"] as? Int ?? 0) < 1 << 20, "\(r)")
        #expect(held - before < 24 << 20, "a stalled 64 MiB stream must not be buffered: RSS grew \((held - before) >> 20) MiB")
    }

    /// Each abuse of the protocol ends the connection with GOAWAY and is counted by kind; the
    /// gateway goes on serving.
    @Test(arguments: [("rapid-reset", "1000", 11, "rapid_reset"), ("continuation", "50", 11, "continuation"),
                      ("ping-flood", "1000", 11, "ping_flood"), ("settings-flood", "1000", 11, "settings_flood"),
                      ("header-list", "12000", 11, "header_list"), ("hpack-bomb", "200", 11, "header_list"),
                      ("hpack-table", "65536", 9, "hpack")])
    func abuseEndsTheConnectionWithGoaway(_ kind: String, _ count: String, _ code: Int, _ metric: String) throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url, http2: #""enabled": true, "h2c": true, "max_header_list_bytes": 8192, "max_resets_per_10s": 100"#))
        let r = try h2Client("abuse", "\(rampart.port)", [kind, count])
        #expect(r["goaway"] as? Int == code, "\(kind): \(r)")
        try eventually { try MetricsScrape.take(rampart).value("rampart_http2_abuse_total", ["kind": metric]) == 1 }
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/after").status == 200, "still serving after \(kind)")
    }

    /// A client that ignores the advertised stream limit gets the extra streams refused (REFUSED_STREAM,
    /// safe to retry) while the others are answered.
    @Test func streamsOverTheLimitAreRefused() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url, http2: #""enabled": true, "h2c": true, "max_concurrent_streams": 5"#))
        let r = try h2Client("over-limit", "\(rampart.port)", ["20"])
        #expect(r["answered"] as? Int == 5 && r["refused"] as? Int == 15, "\(r)")
        #expect(r["goaway"] == nil || r["goaway"] is NSNull, "15 refusals stay under the reset limit: \(r)")
    }

    /// WebSocket over HTTP/2 (RFC 8441 Extended CONNECT) reaches the same tunnel as the HTTP/1.1
    /// upgrade: the route's origin check and filters first, then frames both ways as DATA.
    @Test func webSocketsOverH2ReachTheSameTunnel() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: webSocketRoutes(), server: #""http2": {"enabled": true, "h2c": true}"#))
        let ok = try h2Client("websocket", "\(rampart.port)", ["/ws/echo"])
        #expect(ok["status"] as? String == "200" && ok["echo"] as? Bool == true, "\(ok)")
        #expect(ok["close_code"] as? Int == 1000 && ok["ended"] as? Bool == true, "\(ok)")
        let evil = try h2Client("websocket", "\(rampart.port)", ["/ws/echo", "https://evil.example"])
        #expect(evil["status"] as? String == "403" && (evil["body"] as? String)?.contains("FORBIDDEN") == true, "\(evil)")
        let other = try h2Client("websocket", "\(rampart.port)", ["/echo/plain"])
        #expect(other["status"] as? String == "400", "routes without websocket refuse it over HTTP/2 too: \(other)")
        try eventually { try MetricsScrape.take(rampart).value("rampart_websocket_closed_total", ["route": "ws", "code": "1000"]) == 1 }
    }

    /// Slow clients meet the HTTP/1.1 limits: an unfinished header block ends the connection after
    /// `header_timeout_ms`; an upload that stops gets 408 after `body_timeout_ms`.
    @Test func slowHeadersAndBodiesTimeOut() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url, server: #""limits": {"header_timeout_ms": 1000, "body_timeout_ms": 1000}"#))
        let head = try h2Client("stall", "\(rampart.port)", ["head"])
        #expect(head["goaway"] as? Int == 0, "\(head)")
        #expect((head["seconds"] as? Double ?? 99) < 15, "\(head)")
        let body = try h2Client("stall", "\(rampart.port)", ["body"])
        #expect(body["status"] as? String == "408" && (body["body"] as? String)?.contains("REQUEST_TIMEOUT") == true, "\(body)")
        let m = try MetricsScrape.take(rampart)
        #expect(m.value("rampart_timeouts_total", ["kind": "header"]) == 1 && m.value("rampart_timeouts_total", ["kind": "body"]) == 1)
    }

    /// Answered before its body (413 over the limit), a request that keeps uploading is told to stop
    /// with RST_STREAM(NO_ERROR) once the whole answer is out, never granted window for ever.
    @Test func anEarlyAnswerStopsTheUpload() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url, server: #""limits": {"body_bytes": 100000}"#))
        let r = try h2Client("early-answer", "\(rampart.port)")
        #expect(r["status"] as? String == "413" && r["reset"] as? Int == 0, "\(r)")
        #expect((r["sent_bytes"] as? Int ?? Int.max) < 8_000_000, "\(r)")
    }

    /// A config reload keeps HTTP/2 connections: the second request of a connection opened before
    /// the reload is answered on the same connection.
    @Test func reloadKeepsHTTP2Connections() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url))
        let client = try ChildProcess(Binaries.repoRoot + "/.venv/bin/python3",
                                      [Binaries.repoRoot + "/Tests/Fixtures/h2_client.py", "across-reload", "\(rampart.port)"])
        _ = try client.waitForLine(containing: "FIRST")
        #expect(try rampart.admin("POST", "/admin/reload").status == 200)
        let line = try client.waitForLine(containing: "RESULT", timeout: 30)
        let r = try #require(printedJSON("RESULT", in: line) as? [String: Any])
        #expect(r["statuses"] as? [String] == ["200", "200"], "\(r)")
    }

    /// SIGTERM: an HTTP/2 client gets GOAWAY without error and its stream in flight is answered whole.
    @Test func drainSendsGoawayAndFinishesOpenStreams() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: http2Config(app: app.url, server: #""drain_delay": "0s", "drain_timeout_ms": 10000"#))
        let client = try ChildProcess(Binaries.repoRoot + "/.venv/bin/python3",
                                      [Binaries.repoRoot + "/Tests/Fixtures/h2_client.py", "drain", "\(rampart.port)", "/slow?ms=1500"])
        _ = try client.waitForLine(containing: "READY")
        Thread.sleep(forTimeInterval: 0.3)
        rampart.child.signal(SIGTERM)
        let line = try client.waitForLine(containing: "RESULT", timeout: 30)
        let r = try #require(printedJSON("RESULT", in: line) as? [String: Any])
        #expect(r["status"] as? String == "200" && r["ended"] as? Bool == true, "\(r)")
        #expect(r["goaway"] as? Int == 0, "\(r)")
        #expect(try rampart.child.waitForExit(timeout: 20) == 0)
    }
}
