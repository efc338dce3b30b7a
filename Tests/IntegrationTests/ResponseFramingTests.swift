import Foundation
import Testing

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
}
