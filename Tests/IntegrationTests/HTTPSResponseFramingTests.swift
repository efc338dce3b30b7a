import Foundation
import Testing

/// The https path (libcurl, the one every LLM provider takes) meets the same malformed answers as
/// the plain one and holds them to the same rules.
@Suite(.serialized) struct HTTPSResponseFramingTests {
    static let answers = [
        "/no-content": "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
        "/not-modified": "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 5\r\n\r\nhello",
        "/hex": "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n0123456789abcdef",
        "/again": "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond",
    ]

    /// 204 and 304 with a length and body bytes: the client gets neither, and its keep-alive
    /// connection reads the next answer correctly.
    @Test(arguments: ["/no-content", "/not-modified"])
    func bodilessAnswersOverHTTPS(path: String) throws {
        let tls = try TLSRawUpstream(responses: Self.answers)
        let rampart = try RampartProcess(config: testConfig(upstream: tls.url, upstreamExtra: #""tls_verify": false"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: path, close: false))
        let r = try c.readResponse()
        #expect(r.status == (path == "/no-content" ? 204 : 304))
        #expect(r.header("Content-Length") == nil && r.header("Transfer-Encoding") == nil, "\(r.headers)")
        #expect(c.peekBuffer().isEmpty, "bytes after the head: \(String(decoding: c.peekBuffer(), as: UTF8.self))")
        try ResponseFramingTests.expectInSync(c)
    }

    /// A length libcurl would read leniently (`0x10` as 0) is refused, not relayed.
    @Test func hexLengthOverHTTPSIsA502() throws {
        let tls = try TLSRawUpstream(responses: Self.answers)
        let rampart = try RampartProcess(config: testConfig(upstream: tls.url, upstreamExtra: #""tls_verify": false"#))
        let r = try HTTPClient.request(port: rampart.port, path: "/hex")
        #expect(r.status == 502 && r.header("Content-Length") != "0x10", "\(r.status) \(r.headers)")
        #expect((r.json["error"] as? [String: Any])?["code"] as? String == "UPSTREAM_ERROR", "\(r.text)")
    }
}
