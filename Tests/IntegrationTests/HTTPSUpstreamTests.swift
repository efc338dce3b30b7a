import Foundation
import Glibc
import Testing

/// `Tests/Fixtures/tls_upstream.py`: an HTTPS upstream of Python's own `ssl`, with a self-signed
/// certificate made at test time, so the libcurl path every LLM provider takes is driven by a
/// server that shares no code with Rampart.
final class TLSUpstream: @unchecked Sendable {
    let child: ChildProcess
    let port: UInt16
    let cert: String
    private let dir: String

    init() throws {
        dir = NSTemporaryDirectory() + "rampart-tls-upstream-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (cert, key) = try makeCertificate(in: dir)
        self.cert = cert
        child = try ChildProcess(Binaries.repoRoot + "/.venv/bin/python3", [Binaries.repoRoot + "/Tests/Fixtures/tls_upstream.py", cert, key])
        let line = try child.waitForLine(containing: "listening")
        guard let p = line.split(separator: " ").last.flatMap({ UInt16($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw TestFailure("cannot parse the TLS upstream's port from \(line)")
        }
        port = p
    }

    deinit { child.stop(); try? FileManager.default.removeItem(atPath: dir) }

    var url: String { "https://127.0.0.1:\(port)" }

    /// Releases the next event of stepped stream `id` (the control call itself goes over TLS).
    func step(_ id: String) throws {
        let r = try curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", cert, "-X", "POST", "\(url)/_step?id=\(id)"])
        guard r.status == 0, r.output == "200" else { throw TestFailure("step \(id): curl exit \(r.status), \(r.output)") }
    }
}

@Suite(.serialized) struct HTTPSUpstreamTests {
    /// A request, a streamed upload and an admin view through `https://` with `tls_verify: false`:
    /// the provider sees its own Host, the path as sent, the whole body, and no header libcurl
    /// would have added; the client gets the answer with Rampart's headers.
    @Test func requestsReachAnHTTPSUpstreamWithItsOwnHost() throws {
        let upstream = try TLSUpstream()
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url, upstreamExtra: #""tls_verify": false"#))
        let upstreams = try rampart.admin("GET", "/admin/status").json["upstreams"] as? [String: [String: Any]]
        #expect(upstreams?["app"]?["transport"] as? String == "curl", "\(String(describing: upstreams))")

        let get = try HTTPClient(port: rampart.port)
        try get.send("GET /echo/a/../b?q=1 HTTP/1.1\r\nHost: public.example\r\nX-Request-Id: tls-get-1\r\nConnection: close\r\n\r\n")
        let r = try get.readResponse()
        #expect(r.status == 200, "\(r.text)")
        #expect(r.header("X-Request-Id") == "tls-get-1" && r.header("X-Frame-Options") == "DENY")
        let echo = r.json
        #expect(echo["target"] as? String == "/echo/a/../b?q=1", "the path as sent, never normalised")
        #expect(echo["host"] as? String == "127.0.0.1:\(upstream.port)", "an https:// upstream gets its own Host: \(echo)")
        let sent = (echo["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        func value(_ name: String) -> String? { sent.first { $0.0 == name }?.1 }
        #expect(value("x-forwarded-host") == "public.example")
        #expect(value("x-request-id") == "tls-get-1")
        #expect(value("accept") == nil && value("user-agent") == nil && value("expect") == nil, "no header libcurl adds: \(sent)")

        // A 300 KB chunked upload (past libcurl's upload high-water mark, so it pauses) arrives whole.
        let payload = (0..<300_000).map { UInt8(UInt8(ascii: "a") + UInt8($0 % 26)) }
        let c = try HTTPClient(port: rampart.port)
        try c.send("POST /echo/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for start in stride(from: 0, to: payload.count, by: 65_536) {
            let piece = Array(payload[start..<min(start + 65_536, payload.count)])
            try c.send(Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10])
        }
        try c.send("0\r\n\r\n")
        let upload = try c.readResponse()
        #expect(upload.status == 200)
        #expect(upload.json["method"] as? String == "POST")
        #expect((upload.json["body"] as? String).map { Array($0.utf8) == payload } == true, "the upload arrived byte for byte")

        try eventually("the access line of the GET") { rampart.accessLog.contains { $0["request_id"] as? String == "tls-get-1" } }
        let line = try #require(rampart.accessLog.first { $0["request_id"] as? String == "tls-get-1" })
        #expect(line["status"] as? Int == 200 && line["upstream_status"] as? Int == 200 && line["route"] as? String == "default")
        #expect(line["bytes_out"] as? Int == r.body.count && line["error"] is NSNull, "\(line)")
    }

    /// An event stream from an https:// upstream reaches the client event by event: the upstream
    /// sends event N+1 only after the client has read event N, so buffering anywhere would stall.
    @Test func anSSEStreamFromAnHTTPSUpstreamArrivesEventByEventInOrder() throws {
        let upstream = try TLSUpstream()
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url, upstreamExtra: #""tls_verify": false"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/sse/stepped?id=s1&events=4"))
        let head = try c.readHead()
        #expect(head.status == 200)
        #expect(head.header("Content-Type") == "text/event-stream" && head.header("X-Accel-Buffering") == "no")
        #expect(head.header("Transfer-Encoding") == "chunked" && head.header("Content-Length") == nil)
        var events = [try c.readEvent()]
        for _ in 2...4 {
            try upstream.step("s1")
            events.append(try c.readEvent())
        }
        #expect(events == [#"event: tick\#ndata: {"n":1,"id":"s1"}"#, #"event: tick\#ndata: {"n":2,"id":"s1"}"#,
                           #"event: tick\#ndata: {"n":3,"id":"s1"}"#, #"event: done\#ndata: {"n":4,"id":"s1","done":true}"#])
        #expect(try c.readEvent() == nil, "the stream ends cleanly, nothing added")
    }

    /// A 48 MB body from an https:// upstream to a client that reads slowly: Rampart pauses the
    /// libcurl transfer instead of buffering, and every byte arrives in order.
    @Test func aSlowClientPausesTheHTTPSTransferAndGetsEveryByte() throws {
        let upstream = try TLSUpstream()
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url, server: #""workers": 1"#, upstreamExtra: #""tls_verify": false"#))
        let total = 48 * 1024 * 1024
        let c = try HTTPClient(port: rampart.port)
        var small: Int32 = 64 * 1024
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try c.send(HTTPClient.requestText(method: "GET", path: "/big?bytes=\(total)"))
        let head = try c.readHead()
        #expect(head.status == 200 && head.header("Content-Length") == String(total))
        var received = 0, firstRSS = 0, maxRSS = 0, mismatch: Int?
        var chunk = c.peekBuffer()
        c.clearBuffer()
        var reads = 0
        while true {
            for (i, byte) in chunk.enumerated() where mismatch == nil && byte != UInt8((received + i) % 251) { mismatch = received + i }
            received += chunk.count
            if received >= total { break }
            var buf = [UInt8](repeating: 0, count: 32 * 1024)
            let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            chunk = Array(buf[0..<n])
            reads += 1
            if reads % 64 == 0 {
                let rss = rampart.child.rssBytes
                if firstRSS == 0 { firstRSS = rss }
                maxRSS = max(maxRSS, rss)
            }
            usleep(1_000)   // a slow reader throughout
        }
        #expect(received == total, "the whole body arrived (\(received) of \(total) bytes)")
        #expect(mismatch == nil, "byte \(mismatch ?? -1) differs from what the upstream sent")
        // As in StreamingTests: growth is bounded everywhere, the absolute figure only without a
        // sanitizer (whose shadow memory it would mostly measure).
        #expect(firstRSS > 0 && maxRSS - firstRSS < 24 * 1024 * 1024, "Rampart RSS grew \((maxRSS - firstRSS) / 1024 / 1024) MB")
        if ProcessInfo.processInfo.environment["RAMPART_SANITIZER"] == nil {
            #expect(maxRSS < 64 * 1024 * 1024, "Rampart RSS stayed at \(maxRSS / 1024 / 1024) MB")
        }
    }

    /// `tls_verify` is on by default: a self-signed certificate gives SPEC §4's 502, with no
    /// TLS detail in the body, and the access log says why.
    @Test func anUntrustedCertificateIsRefusedWithA502() throws {
        let upstream = try TLSUpstream()
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url, upstreamExtra: #""retry": {"attempts": 1}"#))
        let r = try HTTPClient.request(port: rampart.port, path: "/echo/verify", headers: ["X-Request-Id": "tls-verify-1"])
        #expect(r.status == 502)
        #expect(r.header("Content-Type") == "application/json")
        let error = try #require(r.json["error"] as? [String: Any], "\(r.text)")
        #expect(error["code"] as? String == "UPSTREAM_ERROR" && error["request_id"] as? String == "tls-verify-1")
        #expect(error["details"] as? [Any] != nil && (error["details"] as? [Any])?.isEmpty == true)
        #expect(!r.text.lowercased().contains("certificate") && !r.text.contains("SSL"), "no TLS detail reaches the client: \(r.text)")
        try eventually("the access line") { rampart.accessLog.contains { $0["request_id"] as? String == "tls-verify-1" } }
        let line = try #require(rampart.accessLog.first { $0["request_id"] as? String == "tls-verify-1" })
        #expect(line["status"] as? Int == 502 && line["upstream_status"] is NSNull, "\(line)")
        #expect((line["error"] as? String)?.isEmpty == false, "the log says what failed: \(line)")

        // The same upstream with verification off answers: the refusal was the certificate's.
        let lax = try RampartProcess(config: testConfig(upstream: upstream.url, upstreamExtra: #""tls_verify": false"#))
        #expect(try HTTPClient.request(port: lax.port, path: "/echo/verify").status == 200)
    }
}
