import Testing
@testable import RampartHTTP

/// The HTTP/2 → HTTP/1.1 downgrade is as strict as the HTTP/1.1 parser and can smuggle nothing.
@Suite struct HTTP2RequestMappingTests {
    static func map(_ pairs: [(String, String)], endStream: Bool = true) -> Result<HTTPRequestHead, HTTPParseError> {
        var m = HTTP2RequestMapping()
        for (n, v) in pairs {
            Array(n.utf8).withUnsafeBytes { nb in Array(v.utf8).withUnsafeBytes { vb in m.add(name: nb, value: vb) } }
        }
        return m.head(endStream: endStream, limits: HTTPLimits())
    }
    static let base = [(":method", "GET"), (":scheme", "https"), (":path", "/a?b=1"), (":authority", "app.example")]

    @Test func aPlainRequestBecomesItsHTTP1Form() throws {
        let head = try Self.map(Self.base + [("accept", "*/*"), ("cookie", "a=1"), ("cookie", "b=2")]).get()
        #expect(head.method == "GET" && head.target == "/a?b=1" && head.framing == .none)
        #expect(head.headers["Host"] == "app.example" && head.headers["Cookie"] == "a=1; b=2" && head.headers["accept"] == "*/*")
    }

    @Test func bodiesKeepTheirLengthOrStreamAsChunks() throws {
        let post = [(":method", "POST"), (":scheme", "http"), (":path", "/u"), (":authority", "x")]
        #expect(try Self.map(post + [("content-length", "12")], endStream: false).get().framing == .contentLength(12))
        #expect(try Self.map(post, endStream: false).get().framing == .chunked)
        guard case .failure = Self.map(post + [("content-length", "12")], endStream: true) else { Issue.record("a length without a body"); return }
    }

    @Test(arguments: [
        [("x-evil", "a\r\nX-Injected: 1")], [("x-nul", "a\u{0}b")], [("transfer-encoding", "chunked")], [("connection", "close")],
        [("upgrade", "h2c")], [("te", "gzip")], [("Upper", "x")], [("bad name", "x")], [("x", " padded")],
    ])
    func smugglingAndMalformedFieldsAreRefused(_ extra: [(String, String)]) {
        guard case .failure = Self.map(Self.base + extra) else { Issue.record("accepted \(extra)"); return }
    }

    @Test func pseudoHeadersAreCheckedLikeTheRequestLine() throws {
        for list in [[(":method", "GET"), (":path", "/")],                                       // no Host: as HTTP/1.1 requires
                     Self.base + [(":path", "/again")],                                          // repeated
                     [("accept", "x")] + Self.base,                                              // after a regular field
                     [(":method", "GET"), (":path", "no-slash"), (":authority", "x")],
                     [(":method", "CONNECT"), (":authority", "x:443")],                          // not a forward proxy
                     [(":method", "G ET"), (":path", "/"), (":authority", "x")],
                     [(":method", "GET"), (":path", "/a b"), (":authority", "x")]] {
            guard case .failure = Self.map(list) else { Issue.record("accepted \(list)"); continue }
        }
        #expect(try Self.map([(":method", "OPTIONS"), (":path", "*"), (":authority", "x")]).get().target == "*")
    }

    /// RFC 8441: an Extended CONNECT for websocket is the HTTP/1.1 upgrade it stands for.
    @Test func extendedConnectIsAWebSocketUpgrade() throws {
        let head = try Self.map([(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"), (":path", "/ws"),
                                 (":authority", "x"), ("sec-websocket-version", "13")], endStream: false).get()
        #expect(head.method == "GET" && head.framing == .none && head.connectionTokens.contains("upgrade"))
        #expect(head.headers["Upgrade"] == "websocket")
        guard case .failure = Self.map([(":method", "CONNECT"), (":protocol", "h2c"), (":path", "/"), (":authority", "x")]) else {
            Issue.record("only websocket is an Extended CONNECT protocol here"); return
        }
    }
}
