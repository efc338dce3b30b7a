import Foundation
import Glibc
import Testing

/// A loopback address where connects never complete: a listener with a backlog of 0 whose one
/// queue slot is taken and that never accepts, so the kernel drops every further SYN (a local
/// stand-in for a blackholed host; tests touch only 127.0.0.1).
final class BlackholeListener: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private var fillers: [Int32] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in(); addr.sin_family = sa_family_t(AF_INET); addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 0) == 0 else { close(fd); throw TestFailure("blackhole listener: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        var fillers: [Int32] = []
        defer { self.fillers = fillers }
        // The first connect completes into the queue's one slot; the next ones stay in SYN_SENT.
        for i in 0..<3 {
            let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | (i == 0 ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 || errno == EINPROGRESS else { close(c); throw TestFailure("filling the blackhole's queue: errno \(errno)") }
            fillers.append(c)
        }
    }

    deinit { fillers.forEach { close($0) }; close(fd) }

    var url: String { "http://127.0.0.1:\(port)" }
}

/// The limits of a connection as a user meets them: a client that stops mid-body, an idle
/// keep-alive connection, an upstream that never completes a connect and one that never ends.
/// Each fires long before the test's own generous waits; the exact gap logic is unit-tested
/// against a hand-moved clock (HTTP1ServerMachineTests, HTTP1ClientMachineTests).
@Suite(.serialized) struct TimeoutLimitTests {
    /// `rampart_timeouts_total` by kind, from one scrape.
    static func timeouts(_ rampart: RampartProcess) throws -> [String: Double] {
        let m = try MetricsScrape.take(rampart)
        return Dictionary(uniqueKeysWithValues: ["header", "body", "connect", "first_byte", "idle", "total"].map { ($0, m.value("rampart_timeouts_total", ["kind": $0])) })
    }

    /// `body_timeout_ms`: a client that sends 10 of 100 announced bytes and stops gets 408
    /// REQUEST_TIMEOUT and a close; the upstream never sees the rest of a request.
    @Test func aClientThatStopsMidBodyGets408() throws {
        let upstream = try RawUpstream(response: RawUpstream.fixed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url,
            server: #""limits": {"header_timeout_ms": 60000, "body_timeout_ms": 1000, "keepalive_timeout_ms": 60000}"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send("POST /upload HTTP/1.1\r\nHost: x\r\nX-Request-Id: stalled-body\r\nContent-Length: 100\r\n\r\n0123456789")
        let r = try c.readResponse()
        #expect(r.status == 408, "\(r.text)")
        let error = try #require(r.json["error"] as? [String: Any], "\(r.text)")
        #expect(error["code"] as? String == "REQUEST_TIMEOUT" && error["request_id"] as? String == "stalled-body")
        #expect(r.header("Connection") == "close")
        #expect(c.isClosedByPeer(timeout: 20))
        for sent in upstream.connections {
            let bodyStart = (RawUpstream.find([13, 10, 13, 10], in: sent) ?? sent.count) + 4
            #expect(sent.count - bodyStart <= 10, "only the 10 bytes the client sent can have reached the upstream")
        }
        #expect(try Self.timeouts(rampart)["body"] == 1)
        try eventually("the access line") { rampart.accessLog.contains { $0["request_id"] as? String == "stalled-body" } }
        let line = try #require(rampart.accessLog.first { $0["request_id"] as? String == "stalled-body" })
        #expect(line["status"] as? Int == 408 && line["method"] as? String == "POST" && line["path"] as? String == "/upload", "\(line)")
        #expect(line["route"] as? String == "default" && line["error"] as? String == "REQUEST_TIMEOUT" && line["bytes_in"] as? Int == 10, "\(line)")
        #expect(rampart.accessLog.filter { $0["path"] as? String == "/upload" }.count == 1, "one line for one request: \(rampart.accessLog)")
    }

    /// `keepalive_timeout_ms`: a keep-alive connection left idle after its answer is closed,
    /// silently (no stray bytes); `header_timeout_ms` is a minute, so only the keep-alive
    /// limit can have closed it.
    @Test func anIdleKeepAliveConnectionIsClosed() throws {
        let upstream = try RawUpstream(response: RawUpstream.fixed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url,
            server: #""limits": {"header_timeout_ms": 60000, "body_timeout_ms": 60000, "keepalive_timeout_ms": 1000}"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/first", close: false))
        let first = try c.readResponse()
        #expect(first.status == 200 && first.text == "ok")
        #expect(first.header("Connection") == nil, "the connection was kept alive: \(first.headers)")
        c.setTimeout(20)
        var stray: [UInt8] = []
        var closed = false
        while !closed {
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { stray += buf[0..<n] } else if n == 0 || errno == ECONNRESET { closed = true } else { break }
        }
        #expect(closed, "still open 20 s after a 1 s keep-alive limit")
        #expect(stray.isEmpty, "an idle close sends nothing: \(String(decoding: stray, as: UTF8.self))")
    }

    /// The upstream `connect` timeout, on both transports: a connect that never completes gives
    /// 504 UPSTREAM_TIMEOUT long before first_byte (60 s) or total (120 s) could.
    @Test(arguments: ["auto", "curl"])
    func aConnectThatNeverCompletesGives504(transport: String) throws {
        let blackhole = try BlackholeListener()
        let rampart = try RampartProcess(config: testConfig(upstream: blackhole.url, upstreamExtra: """
            "transport": "\(transport)", "timeouts": {"connect": "1s", "first_byte": "60s", "idle": "60s", "total": "120s"}, "retry": {"attempts": 1}
            """))
        let r = try HTTPClient.request(port: rampart.port, path: "/never", headers: ["X-Request-Id": "connect-\(transport)"])
        #expect(r.status == 504, "\(transport): \(r.text)")
        let error = try #require(r.json["error"] as? [String: Any], "\(r.text)")
        #expect(error["code"] as? String == "UPSTREAM_TIMEOUT" && error["request_id"] as? String == "connect-\(transport)")
        let fired = try Self.timeouts(rampart)
        #expect(fired["connect"] == 1 && fired["first_byte"] == 0 && fired["total"] == 0, "\(transport): \(fired)")
        try eventually("the access line") { rampart.accessLog.contains { $0["request_id"] as? String == "connect-\(transport)" } }
        let line = try #require(rampart.accessLog.first { $0["request_id"] as? String == "connect-\(transport)" })
        #expect(line["status"] as? Int == 504 && line["upstream_status"] is NSNull, "\(line)")
    }

    /// The `total` timeout before the response head: 504, though first_byte alone would wait a minute.
    @Test func totalTimeoutBeforeTheHeadGives504() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, upstreamExtra: #""timeouts": {"first_byte": "60s", "idle": "60s", "total": "1s"}, "retry": {"attempts": 1}"#))
        let r = try HTTPClient.request(port: rampart.port, path: "/slow?ms=30000")
        #expect(r.status == 504)
        #expect((r.json["error"] as? [String: Any])?["code"] as? String == "UPSTREAM_TIMEOUT", "\(r.text)")
        let fired = try Self.timeouts(rampart)
        #expect(fired["total"] == 1 && fired["first_byte"] == 0, "\(fired)")
    }

    /// The `total` timeout mid-stream: an upstream that trickles an event every 100 ms forever
    /// (so `idle` never fires) is cut at `total`. The client gets every tick in order, then one
    /// `event: error` with UPSTREAM_TIMEOUT and a clean end of the body, then the close.
    @Test func totalTimeoutEndsATricklingStreamWithAnErrorEvent() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, upstreamExtra: #""timeouts": {"first_byte": "60s", "idle": "60s", "total": "2s"}, "retry": {"attempts": 1}"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/sse?events=1000000&gap_ms=100", headers: ["X-Request-Id": "trickle"]))
        let head = try c.readHead()
        #expect(head.status == 200 && head.header("Content-Type") == "text/event-stream")
        let events = try c.readEventsToEnd()
        let error = try #require(events.last)
        let ticks = events.dropLast()
        try #require(!ticks.isEmpty, "the stream flowed before the deadline")
        #expect(Array(ticks) == (1...ticks.count).map { "event: tick\ndata: {\"n\":\($0)}" }, "every tick, in order: \(ticks.prefix(3))")
        let lines = error.split(separator: "\n")
        #expect(lines.count == 2 && lines.first == "event: error", "\(error)")
        let data = try #require(lines.last.map { String($0.dropFirst("data: ".count)) })
        let json = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
        let body = try #require(json?["error"] as? [String: Any], "\(data)")
        #expect(body["code"] as? String == "UPSTREAM_TIMEOUT" && body["request_id"] as? String == "trickle", "\(data)")
        #expect(c.isClosedByPeer())
        let fired = try Self.timeouts(rampart)
        #expect(fired["total"] == 1 && fired["idle"] == 0, "\(fired)")
        try eventually("the access line") { rampart.accessLog.contains { $0["request_id"] as? String == "trickle" } }
        let line = try #require(rampart.accessLog.first { $0["request_id"] as? String == "trickle" })
        #expect(line["status"] as? Int == 200 && line["upstream_status"] as? Int == 200, "\(line)")
        #expect((line["error"] as? String)?.isEmpty == false, "the cut stream is logged as an error: \(line)")
    }
}
