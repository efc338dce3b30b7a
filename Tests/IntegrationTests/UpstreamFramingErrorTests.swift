import Foundation
import Testing

/// Upstream responses are held to the request parser's strictness: framing Rampart cannot trust
/// is answered with 502 `UPSTREAM_ERROR` (SPEC §4), never relayed, and a body the upstream cuts
/// short ends the client's connection at once, never with a complete-looking response.
@Suite(.serialized) struct UpstreamFramingErrorTests {
    /// Heads whose body length is ambiguous, unknown or unreadable; each would desynchronise a
    /// keep-alive connection (or smuggle a response) if relayed as it came.
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n0123456789abcdef",
        "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
        "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0x10\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: -1\r\n\r\n",
    ], transports)
    func untrustworthyFramingIsA502(upstream: String, transport: String) throws {
        let raw = try RawUpstream(response: RawUpstream.fixed(upstream))
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, upstreamExtra: transport))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/x", close: true))
        let bytes = try #require(c.readToEOF(timeout: 10), "the client's connection ends")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 502 "), "\(upstream.debugDescription) -> \(text)")
        #expect(!text.contains("hello") && !text.contains("0x10") && !text.contains("gzip"), "upstream bytes relayed: \(text)")
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let error = json?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "UPSTREAM_ERROR", "\(body)")
        #expect((error?["request_id"] as? String)?.isEmpty == false)
    }

    /// A chunk-size line ended by a bare LF. Rampart's own client refuses it; libcurl reads it
    /// leniently and decodes the body, which the client then gets re-framed (well-formed either way).
    @Test func aBareLFInAChunkSizeLineIsA502() throws {
        let raw = try RawUpstream(response: RawUpstream.fixed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"))
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url))
        let r = try HTTPClient.request(port: rampart.port, path: "/x")
        #expect(r.status == 502 && !r.text.contains("hello"), "\(r.status) \(r.text)")
    }

    /// The upstream closes before the body it announced is complete: the client sees the head
    /// and what arrived, then its connection ends promptly, without a terminating chunk or the
    /// announced length; never a wait for bytes that will not come.
    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
    ], transports)
    func aBodyCutShortEndsTheClientConnection(upstream: String, transport: String) throws {
        let raw = try RawUpstream(closeAfterResponse: true, response: RawUpstream.fixed(upstream))
        let rampart = try RampartProcess(config: testConfig(upstream: raw.url, upstreamExtra: transport))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/x", close: false))
        let head = try c.readHead()
        if head.status == 502 {
            // The cut was known before anything was relayed (libcurl saw the close with the head):
            // Rampart's own error, framed, on a connection that may stay open.
            _ = try c.readUntil("UPSTREAM_ERROR")
            return
        }
        #expect(head.status == 200)
        // The route's idle timeout is 30 s: a connection still open after 8 s is a hang.
        let bytes = try #require(c.readToEOF(timeout: 8), "the client is left waiting: \(upstream.debugDescription)")
        let body = String(decoding: bytes, as: UTF8.self)
        if head.header("Content-Length") == "100" {
            #expect(bytes.count < 100, "a cut body looks complete: \(body)")
        } else {
            #expect(head.header("Transfer-Encoding") == "chunked", "\(head.headers)")
            #expect(!body.hasSuffix("0\r\n\r\n"), "a cut body got a terminating chunk: \(body)")
        }
    }
}
