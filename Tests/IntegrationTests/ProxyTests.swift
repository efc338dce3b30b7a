import RampartLoop
import Foundation
import Synchronization
import Testing

/// The keel, seen from a client: real rampart, real demo app, real sockets.
@Suite(.serialized) struct ProxyTests {
    @Test func forwardsRequestsWithProxyHeadersAndRequestIDs() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let r = try HTTPClient.request(port: rampart.port, path: "/echo/a/../b?x=1", headers: [
            "X-Request-Id": "client-id-42", "Connection": "close, X-Hop", "X-Hop": "secret", "Keep-Alive": "timeout=5",
            "TE": "trailers", "X-Forwarded-For": "6.6.6.6", "Accept-Encoding": "gzip",
        ])
        #expect(r.status == 200)
        #expect(r.header("X-Request-Id") == "client-id-42")
        #expect(r.header("Via")?.contains("rampart") == true)
        #expect(r.header("X-Frame-Options") == "DENY")
        let echo = r.json
        #expect(echo["target"] as? String == "/echo/a/../b?x=1", "path is sent as is, never normalised")
        let sent = (echo["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        func value(_ n: String) -> String? { sent.first { $0.0 == n }?.1 }
        #expect(value("x-request-id") == "client-id-42")
        #expect(value("x-hop") == nil && value("keep-alive") == nil && value("te") == nil && value("connection") == nil)
        #expect(value("x-forwarded-for") == "127.0.0.1", "an untrusted client's X-Forwarded-For is replaced")
        #expect(value("x-forwarded-proto") == "http")
        #expect(value("x-forwarded-host") == "127.0.0.1")
        #expect(value("via")?.contains("rampart") == true)
        #expect(value("accept") == nil && value("expect") == nil && value("user-agent") == nil, "no headers curl adds on its own")
        #expect(value("accept-encoding") == "gzip")

        // An insane request id is replaced by a generated one.
        let r2 = try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["X-Request-Id": "bad id with spaces"])
        let generated = try #require(r2.header("X-Request-Id"))
        #expect(generated.count == 26 && !generated.contains(" "))
        let upstreamSaw = (r2.json["headers"] as? [[String]] ?? []).first { $0[0].lowercased() == "x-request-id" }?[1]
        #expect(upstreamSaw == generated)
    }

    /// Upstreams named by host (the app in compose or Kubernetes) go through the native client
    /// too: the name is resolved off the loop and cached; a name that does not resolve is a 502.
    @Test func hostNameUpstreamsResolveOffTheLoop() throws {
        let app = try DemoApp()
        let config = """
        {
          "server": {"listen": "127.0.0.1:0", "workers": 2},
          "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
          "upstreams": {"app": {"url": "http://localhost:\(app.port)"},
                        "gone": {"url": "http://no-such-host.invalid:80", "timeouts": {"connect": "10s"}}},
          "routes": [{"name": "gone", "match": {"path_prefix": "/gone"}, "upstream": "gone"},
                     {"name": "default", "match": {"path_prefix": "/"}, "upstream": "app"}]
        }
        """
        let rampart = try RampartProcess(config: config)
        let status = try rampart.admin("GET", "/admin/status").json
        let upstreams = status["upstreams"] as? [String: [String: Any]] ?? [:]
        #expect(upstreams["app"]?["transport"] as? String == "http1", "\(upstreams)")
        for i in 0..<20 {
            let r = try HTTPClient.request(port: rampart.port, path: "/echo?n=\(i)")
            #expect(r.status == 200 && r.json["target"] as? String == "/echo?n=\(i)")
        }
        // Several requests at once while the name is first resolved on a second process start:
        // they queue behind one lookup and all get through.
        let fresh = try RampartProcess(config: config)
        let group = DispatchGroup()
        let ok = Lock(0)
        for _ in 0..<8 {
            DispatchQueue.global().async(group: group) {
                if (try? HTTPClient.request(port: fresh.port, path: "/echo"))?.status == 200 { ok.withLock { $0 += 1 } }
            }
        }
        group.wait()
        #expect(ok.withLock { $0 } == 8)

        let gone = try HTTPClient.request(port: rampart.port, path: "/gone")
        #expect(gone.status == 502)
        #expect((gone.json["error"] as? [String: Any])?["code"] as? String == "UPSTREAM_ERROR")
        _ = try rampart.child.waitForLine(containing: "no-such-host.invalid")
    }

    @Test func keepAliveAndPipelinedRequestsAnswerInOrder() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let c = try HTTPClient(port: rampart.port)
        var batch: [UInt8] = []
        for i in 1...5 { batch += HTTPClient.requestText(method: "GET", path: "/echo?n=\(i)", close: false) }
        batch += HTTPClient.requestText(method: "POST", path: "/echo?n=6", body: Array("six".utf8), close: false)
        try c.send(batch)
        for i in 1...6 {
            let r = try c.readResponse()
            #expect(r.status == 200)
            #expect(r.json["target"] as? String == "/echo?n=\(i)")
        }
        // The same connection still serves a later request, then honours Connection: close.
        try c.send(HTTPClient.requestText(method: "HEAD", path: "/big?bytes=1000", close: true))
        let head = try c.readResponse(method: "HEAD")
        #expect(head.status == 200 && head.header("Content-Length") == "1000" && head.body.isEmpty)
        #expect(c.isClosedByPeer())
    }

    @Test func streamsRequestBodiesContentLengthAndChunked() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let payload = (0..<300_000).map { UInt8(97 + $0 % 26) }
        let r = try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo", body: payload)
        #expect(r.json["body_bytes"] as? Int == payload.count)

        let c = try HTTPClient(port: rampart.port)
        try c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
        try c.send("5\r\nhello\r\n")
        try c.send("6;ext=1\r\n world\r\n0\r\n\r\n")
        let rc = try c.readResponse()
        #expect(rc.json["body"] as? String == "hello world")
        let te = (rc.json["headers"] as? [[String]] ?? []).first { $0[0].lowercased() == "content-type" }?[1]
        #expect(te == "text/plain")
    }

    @Test func expectContinueGetsInterimResponseBeforeBody() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let c = try HTTPClient(port: rampart.port)
        try c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try c.readResponse(keepInformational: true)
        #expect(interim.status == 100)
        try c.send("ping")
        let r = try c.readResponse()
        #expect(r.status == 200 && r.json["body"] as? String == "ping")
        #expect((r.json["headers"] as? [[String]] ?? []).allSatisfy { $0[0].lowercased() != "expect" })
    }

    @Test func slowUpstreamDoesNotDelayOtherClients() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""workers": 1"#))
        let slow = try HTTPClient(port: rampart.port)
        try slow.send(HTTPClient.requestText(method: "GET", path: "/slow?ms=60000"))
        try eventually("the slow request is in flight") { try rampart.admin("GET", "/admin/status").json["in_flight"] as? Int == 1 }
        // While the slow request waits on the only worker (a minute: it cannot finish during the
        // test), other requests are served.
        for _ in 0..<5 {
            let r = try HTTPClient.request(port: rampart.port, path: "/healthz")
            #expect(r.status == 200)
        }
        #expect(try rampart.admin("GET", "/admin/status").json["in_flight"] as? Int == 1, "the slow one is still waiting")
        var probe: UInt8 = 0
        let peeked = recv(slow.fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        #expect(peeked == -1 && errno == EAGAIN, "nothing has come back on the slow request")
    }

    @Test func healthAndReadiness() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let before = try app.requestCount()
        #expect(try HTTPClient.request(port: rampart.port, path: "/_rampart/healthz").status == 200)
        let ready = try HTTPClient.request(port: rampart.port, path: "/_rampart/readyz")
        #expect(ready.status == 200 && ready.json["status"] as? String == "ready")
        #expect(try app.requestCount() == before, "health checks are answered by Rampart")
    }

    @Test func accessLogHasOneJSONLinePerRequest() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let r = try HTTPClient.request(port: rampart.port, path: "/echo?log=1", headers: ["X-Request-Id": "log-me-1"])
        #expect(r.status == 200)
        try eventually { rampart.accessLog.contains { $0["request_id"] as? String == "log-me-1" } }
        #expect(rampart.accessLog.filter { $0["request_id"] as? String == "log-me-1" }.count == 1, "one line per request")
        let line = try #require(rampart.accessLog.first { $0["request_id"] as? String == "log-me-1" })
        #expect(line["type"] as? String == "access" && line["method"] as? String == "GET")
        #expect(line["path"] as? String == "/echo" && line["query"] as? String == "log=1")
        #expect(line["route"] as? String == "default" && line["peer"] as? String == "127.0.0.1")
        #expect(line["status"] as? Int == 200 && line["upstream_status"] as? Int == 200)
        #expect(line["user"] is NSNull && line["error"] is NSNull && line["truncated"] is NSNull && line["save"] is NSNull)
        #expect(line["bytes_in"] as? Int == 0 && line["bytes_out"] as? Int == r.body.count, "\(line)")
        #expect(line["retries"] as? Int == 0 && line["breaker"] as? String == "closed")
        let duration = try #require(line["duration_ms"] as? Double), upstream = try #require(line["upstream_ms"] as? Double)
        #expect(duration > 0 && upstream > 0 && upstream <= duration, "upstream time is part of the whole: \(upstream) of \(duration) ms")
        let time = try #require(line["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z") && time.contains("T"), "an ISO-8601 UTC time with milliseconds: \(time)")
    }
}

@Suite(.serialized) struct ConcurrencyCapTests {
    /// `max_in_flight` per upstream: beyond it, 503 OVERLOADED with Retry-After, not a queue.
    @Test func maxInFlightAnswers503Overloaded() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, upstreamExtra: #""max_in_flight": 1"#))
        // The one slot is held by a stream that goes on only when the test steps it.
        let holder = try HTTPClient(port: rampart.port)
        try holder.send(HTTPClient.requestText(method: "GET", path: "/sse/stepped?id=cap&events=2"))
        #expect(try holder.readHead().status == 200)
        #expect(try holder.readEvent() == #"event: tick\#ndata: {"n":1,"id":"cap"}"#)
        let r = try HTTPClient.request(port: rampart.port, path: "/echo")
        #expect(r.status == 503)
        #expect((r.json["error"] as? [String: Any])?["code"] as? String == "OVERLOADED")
        #expect(r.header("Retry-After") == "1")
        try app.control("POST", "/_demo/step?id=cap")
        #expect(try holder.readEventsToEnd().count == 1)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo").status == 200, "the slot is free again")
    }
}
