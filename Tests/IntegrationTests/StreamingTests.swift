import Foundation
import Glibc
import Testing

@Suite(.serialized) struct StreamingTests {
    /// Each SSE event reaches the client before the upstream sends the next one: the demo app's
    /// stepped stream sends event N+1 only after we saw event N, so buffering would deadlock.
    @Test func sseEventsPassThroughUnbufferedAndUnmodified() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/sse/stepped?id=s1&events=4"))
        let head = try c.readHead()
        #expect(head.status == 200)
        #expect(head.header("Content-Type")?.hasPrefix("text/event-stream") == true)
        #expect(head.header("X-Accel-Buffering") == "no")
        #expect(head.header("X-Frame-Options") == "DENY", "security headers on streams too")
        #expect(head.header("Transfer-Encoding") == "chunked" && head.header("Content-Length") == nil)
        var events = [try c.readEvent()]
        for _ in 2...4 {
            try app.control("POST", "/_demo/step?id=s1")
            events.append(try c.readEvent())
        }
        #expect(events == [#"event: tick\#ndata: {"n":1,"id":"s1"}"#, #"event: tick\#ndata: {"n":2,"id":"s1"}"#,
                           #"event: tick\#ndata: {"n":3,"id":"s1"}"#, #"event: done\#ndata: {"n":4,"id":"s1","done":true}"#],
                "every event exactly as the app sent it, in order")
        #expect(try c.readEvent() == nil, "then a clean end, nothing added")
    }

    /// A 50 MB body to a client that reads slowly: Rampart pauses the upstream instead of buffering.
    @Test func slowClientBackpressureKeepsMemoryBounded() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""workers": 1"#))
        let total = 50 * 1024 * 1024
        let c = try HTTPClient(port: rampart.port)
        // A small receive buffer keeps the kernel from absorbing the body on our behalf.
        var small: Int32 = 64 * 1024
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try c.send(HTTPClient.requestText(method: "GET", path: "/big?bytes=\(total)"))
        var received = 0
        var maxRSS = 0, firstRSS = 0
        var chunk = [UInt8](repeating: 0, count: 32 * 1024)
        var reads = 0
        while received < total + 200 {
            let n = chunk.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += n
            reads += 1
            if reads % 64 == 0 {
                let rss = rampart.child.rssBytes
                if firstRSS == 0 { firstRSS = rss }
                maxRSS = max(maxRSS, rss)
            }
            usleep(1_000)   // a slow reader throughout: about 32 MB/s against an upstream that pushes far faster
        }
        #expect(received >= total, "the whole body arrived (\(received) bytes)")
        // Growth while 48 MB more flowed: buffering the body would add most of it. Under a
        // sanitizer (make test-sanitized) the absolute figure is the sanitizer's shadow memory,
        // so only the growth is held to its bound there.
        #expect(firstRSS > 0 && maxRSS - firstRSS < 24 * 1024 * 1024, "Rampart RSS grew \((maxRSS - firstRSS) / 1024 / 1024) MB")
        if ProcessInfo.processInfo.environment["RAMPART_SANITIZER"] == nil {
            #expect(maxRSS < 64 * 1024 * 1024, "Rampart RSS stayed at \(maxRSS / 1024 / 1024) MB")
        }
    }

    @Test func chunkedUpstreamResponsesAreReframedForTheClient() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let r = try HTTPClient.request(port: rampart.port, path: "/big?bytes=100000&chunked=1")
        #expect(r.status == 200 && r.body.count == 100_000)
        // HTTP/1.0 clients get a close-delimited body instead of chunks.
        let c = try HTTPClient(port: rampart.port)
        try c.send("GET /big?bytes=5000&chunked=1 HTTP/1.0\r\nHost: x\r\n\r\n")
        let r10 = try c.readResponse()
        #expect(r10.header("Transfer-Encoding") == nil && r10.body.count == 5000)
    }
}

@Suite(.serialized) struct TimeoutTests {
    @Test func firstByteTimeoutAnswers504() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: #"""
            [{"name": "slow", "match": {"path_prefix": "/slow"}, "timeouts": {"first_byte": "500ms"}},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """#))
        let r = try HTTPClient.request(port: rampart.port, path: "/slow?ms=20000")
        #expect(r.status == 504)
        let error = r.json["error"] as? [String: Any]
        #expect(error?["code"] as? String == "UPSTREAM_TIMEOUT")
        #expect(error?["request_id"] as? String == r.header("X-Request-Id"))
    }

    @Test func idleTimeoutMidStreamSendsSSEErrorEvent() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: #"""
            [{"name": "stream", "match": {"path_prefix": "/slow/stream"}, "timeouts": {"idle": "500ms"}},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/slow/stream?gap_ms=20000&events=3"))
        let head = try c.readHead()
        #expect(head.status == 200)
        _ = try c.readUntil("\n\n")   // the first event arrives at once
        let error = try c.readUntil("\n\n")
        #expect(error.contains("event: error"))
        let dataLine = try #require(error.components(separatedBy: "\n").first { $0.contains("data:") })
        let json = try JSONSerialization.jsonObject(with: Data(dataLine.replacingOccurrences(of: "data: ", with: "").utf8)) as? [String: Any]
        #expect((json?["error"] as? [String: Any])?["code"] as? String == "UPSTREAM_TIMEOUT")
        #expect(c.isClosedByPeer())
    }

    @Test func refusedConnectionAnswers502() throws {
        // A port that was just free: nobody listens there.
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in(); addr.sin_family = sa_family_t(AF_INET); addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &len) } }
        let port = UInt16(bigEndian: addr.sin_port)
        close(probe)
        let rampart = try RampartProcess(config: testConfig(upstream: "http://127.0.0.1:\(port)"))
        let r = try HTTPClient.request(port: rampart.port, path: "/anything")
        #expect(r.status == 502)
        #expect((r.json["error"] as? [String: Any])?["code"] as? String == "UPSTREAM_ERROR")
        #expect(!r.text.contains("curl") && !r.text.contains("refused"), "no internal detail reaches the client")
    }
}
