import Foundation
import Testing

/// Both upstream clients meet the same answers: Rampart's own (plain http) and libcurl (https,
/// or any upstream with `transport: curl`).
let transports = [#""transport": "auto""#, #""transport": "curl""#]

/// The response path owns framing: bytes Rampart adds to a body never run past a length the
/// upstream declared.
@Suite(.serialized) struct ResponseFramingTests {
    /// An SSE upstream that sends Content-Length: the client gets the stream re-framed as chunked,
    /// with Rampart's `save_status` inside the body, and the keep-alive connection stays in sync.
    @Test func addedEventsReframeAStreamThatDeclaredItsLength() throws {
        let sse = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
            + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        let raw = try RawUpstream(response: RawUpstream.fixed(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: \(sse.utf8.count)\r\n\r\n" + sse))
        let routes = #"""
        [{"name": "gen", "match": {"methods": ["POST"], "path": "/gen"},
          "stream_save": {"format": "anthropic", "save": {"method": "PUT", "url": "/saved"}}},
         {"name": "default", "match": {"path_prefix": "/"}}]
        """#
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, routes: routes))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "POST", path: "/gen", body: Array("{}".utf8),
                                          headers: ["Content-Type": "application/json"], close: false))
        let r = try c.readResponse()
        #expect(r.status == 200)
        #expect(r.header("Content-Length") == nil && r.header("Transfer-Encoding") == "chunked")
        #expect(r.text.hasPrefix("event: message_start") && r.text.contains("event: save_status"), "\(r.text)")
        // The connection is still framed correctly: a second request on it gets its own answer.
        try c.send(HTTPClient.requestText(method: "GET", path: "/again", close: true))
        #expect(try c.readResponse().status == 200)
    }

    /// A raw upstream that answers `/again` with a plain 200 and everything else with `first`.
    static func upstream(first: String, closeAfterResponse: Bool = false) throws -> RawUpstream {
        try RawUpstream(closeAfterResponse: closeAfterResponse) { head in
            String(decoding: head, as: UTF8.self).contains(" /again ")
                ? Array("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond".utf8) : Array(first.utf8)
        }
    }

    /// The same client connection asks again: its answer is read correctly only if the first
    /// response was framed exactly (no stray body bytes, no length that was not honoured).
    static func expectInSync(_ c: HTTPClient) throws {
        try c.send(HTTPClient.requestText(method: "GET", path: "/again", close: true))
        let r = try c.readResponse()
        #expect(r.status == 200 && r.text == "second", "the keep-alive connection is out of sync: \(r.status) \(r.text)")
    }

    /// 204, 304 and a HEAD answer never carry a body (RFC 9110 §6.4.1): whatever length or bytes
    /// the upstream adds, the client gets no body and no length on 204/304, and stays in sync.
    @Test(arguments: [
        ("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"),
        ("GET", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("GET", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
        ("GET", "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 5\r\n\r\nhello"),
        ("GET", "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        ("HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ], transports)
    func bodilessAnswersCarryNoBodyAndNoLength(_ answer: (method: String, upstream: String), transport: String) throws {
        let (method, upstream) = answer
        let raw = try Self.upstream(first: upstream)
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, upstreamExtra: transport))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: method, path: "/first", close: false))
        let r = try c.readResponse(method: method)
        let status = Int(upstream.dropFirst(9).prefix(3)) ?? 0
        #expect(r.status == status)
        #expect(r.header("Transfer-Encoding") == nil, "\(r.headers)")
        if method == "HEAD" {
            // A HEAD answer may state the length a GET would have; it must be that number or absent.
            #expect(r.header("Content-Length") == nil || r.header("Content-Length") == "5", "\(r.headers)")
        } else {
            #expect(r.header("Content-Length") == nil, "no length on a \(status): \(r.headers)")
        }
        #expect(c.peekBuffer().isEmpty, "bytes after the head: \(String(decoding: c.peekBuffer(), as: UTF8.self))")
        try Self.expectInSync(c)
    }

    /// Interim answers (100 Continue, 103 Early Hints, even one with a length) are the upstream's
    /// business: the client gets the one final answer, framed, and its connection stays in sync.
    @Test(arguments: transports) func interimAnswersNeverCorruptTheFraming(transport: String) throws {
        let raw = try Self.upstream(first: "HTTP/1.1 100 Continue\r\n\r\n"
            + "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nContent-Length: 4\r\n\r\n"
            + "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, upstreamExtra: transport))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "POST", path: "/first", body: Array("{}".utf8), close: false))
        let r = try c.readResponse(keepInformational: true)
        #expect(r.status == 201 && r.text == "ok", "\(r.status) \(r.text)")
        try Self.expectInSync(c)
    }

    /// A body with neither length nor chunking ends with the upstream's close: an HTTP/1.1 client
    /// gets it re-framed as chunked on a connection that stays open, an HTTP/1.0 client gets it
    /// ended by Rampart's close.
    @Test(arguments: transports) func closeDelimitedBodiesAreReframedOrClosed(transport: String) throws {
        let raw = try Self.upstream(first: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close",
                                    closeAfterResponse: true)
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, upstreamExtra: transport))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/first", close: false))
        let r = try c.readResponse()
        #expect(r.header("Transfer-Encoding") == "chunked" && r.header("Content-Length") == nil, "\(r.headers)")
        #expect(r.text == "until the close")
        try Self.expectInSync(c)

        let old = try HTTPClient(port: rampart.port)
        try old.send("GET /first HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        let bytes = try #require(old.readToEOF(timeout: 10), "the HTTP/1.0 answer ends with a close")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200") && text.hasSuffix("\r\n\r\nuntil the close"), "\(text)")
        #expect(!text.lowercased().contains("transfer-encoding") && text.contains("Connection: close"), "\(text)")
    }
}
