import Foundation
import RampartHTTP
import Testing

@Suite struct RequestParserTests {
    @Test func simpleGet() throws {
        let raw = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n"
        let result = parse(raw)
        let head = try #require(result.head)
        #expect(result.consumed == raw.utf8.count)
        #expect(head.method == "GET")
        #expect(head.target == "/index.html")
        #expect(head.path == "/index.html")
        #expect(head.query == nil)
        #expect(head.versionMinor == 1)
        #expect(head.headers.fields == [HTTPField(name: "Host", value: "example.com"), HTTPField(name: "User-Agent", value: "t/1")])
        #expect(head.framing == .none)
        #expect(head.keepAlive)
        #expect(!head.expectsContinue)
        #expect(head.connectionTokens.isEmpty)
    }

    @Test(arguments: [
        ("/a/b?x=1&y=2", "/a/b", "x=1&y=2" as String?),
        ("/p?", "/p", ""),
        ("/p", "/p", nil),
        ("/p?a?b", "/p", "a?b"),
        ("/%20x?q=%2F", "/%20x", "q=%2F"),
    ])
    func pathAndQuery(target: String, path: String, query: String?) throws {
        let head = try #require(parse("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n").head)
        #expect(head.target == target)
        #expect(head.path == path)
        #expect(head.query == query)
    }

    @Test(arguments: [
        ("1.1", nil, true),
        ("1.1", "close", false),
        ("1.1", "Close", false),
        ("1.1", "keep-alive", true),
        ("1.1", "Keep-Alive, CLOSE", false),
        ("1.0", nil, false),
        ("1.0", "keep-alive", true),
        ("1.0", "Keep-Alive", true),
        ("1.0", "keep-alive, close", false),
        ("1.0", "upgrade", false),
    ] as [(String, String?, Bool)])
    func keepAliveSemantics(version: String, connection: String?, keepAlive: Bool) throws {
        let conn = connection.map { "Connection: \($0)\r\n" } ?? ""
        let head = try #require(parse("GET / HTTP/\(version)\r\nHost: h\r\n\(conn)\r\n").head)
        #expect(head.keepAlive == keepAlive)
        #expect(head.versionMinor == (version == "1.0" ? 0 : 1))
    }

    @Test func connectionTokensFromAllHeadersLowercased() throws {
        let raw = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, X-Foo\r\nConnection: ,  te ,\r\n\r\n"
        let head = try #require(parse(raw).head)
        #expect(head.connectionTokens == ["keep-alive", "x-foo", "te"])
    }

    @Test func invalidConnectionTokenIsRejected() {
        #expect(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: a b\r\n\r\n").error?.status == 400)
    }

    @Test func pipelinedHeads() throws {
        let first = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
        let second = "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
        let third = "GET /three HTTP/1.1\r\nHost: h\r\n\r\n"
        let all = latin1(first + second + third)
        let r1 = HTTPRequestParser.parseHead(all)
        #expect(r1.head?.target == "/one")
        let c1 = try #require(r1.consumed)
        #expect(c1 == first.utf8.count)
        let r2 = HTTPRequestParser.parseHead(Array(all[c1...]))
        #expect(r2.head?.target == "/two")
        #expect(r2.head?.framing == .contentLength(3))
        let c2 = try #require(r2.consumed)
        #expect(c2 == second.utf8.count - 3)
        let r3 = HTTPRequestParser.parseHead(Array(all[(c1 + c2 + 3)...]))
        #expect(r3.head?.target == "/three")
        #expect(r3.consumed == third.utf8.count)
    }

    @Test func headSplitAtEveryByteIsIncompleteUntilTheEnd() throws {
        let raw = latin1(
            "\r\nPOST /api/items?id=7 HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Type: application/json\r\n"
                + "Content-Length: 12\r\nX-Multi: a\r\nX-Multi: b\r\nExpect: 100-continue\r\n\r\n")
        for k in 0..<raw.count {
            let r = HTTPRequestParser.parseHead(Array(raw[..<k]))
            #expect(r.isIncomplete, "prefix \(k) gave \(r)")
        }
        let head = try #require(HTTPRequestParser.parseHead(raw).head)
        #expect(head.path == "/api/items")
        #expect(head.query == "id=7")
        #expect(head.framing == .contentLength(12))
        #expect(head.expectsContinue)
        #expect(head.headers.values("x-multi") == ["a", "b"])
    }

    @Test func leadingEmptyLinesAreIgnoredButConsumed() throws {
        let raw = "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"
        let r = parse(raw)
        #expect(r.head?.method == "GET")
        #expect(r.consumed == raw.utf8.count)
        #expect(parse("\r\n").isIncomplete)
        #expect(parse("\r").isIncomplete)
        #expect(parse("\r\n\n").error?.status == 400)
        #expect(parse("\r\r\n").error?.status == 400)
    }

    @Test(arguments: [("0", 0), ("42", 42), ("  42 \t", 42), ("000123", 123), ("999999999999999999", 999_999_999_999_999_999)])
    func contentLength(value: String, length: Int) throws {
        let head = try #require(parse("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length:\(value)\r\n\r\n").head)
        #expect(head.framing == .contentLength(length))
    }

    @Test(arguments: ["chunked", "Chunked", " CHUNKED ", "\tchunked"])
    func transferEncodingChunked(value: String) throws {
        let head = try #require(parse("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\(value)\r\n\r\n").head)
        #expect(head.framing == .chunked)
    }

    @Test func headerOrderAndDuplicatesPreserved() throws {
        let raw = "GET / HTTP/1.1\r\nset-cookie: a=1\r\nHost: h\r\nSet-Cookie: b=2\r\nX-A: 1\r\nSET-COOKIE: c=3\r\n\r\n"
        let head = try #require(parse(raw).head)
        #expect(head.headers.fields.map(\.name) == ["set-cookie", "Host", "Set-Cookie", "X-A", "SET-COOKIE"])
        #expect(head.headers.values("Set-Cookie") == ["a=1", "b=2", "c=3"])
        #expect(head.headers["SET-cookie"] == "a=1")
    }

    @Test(arguments: [
        ("X-A: value", "value"),
        ("X-A:value", "value"),
        ("X-A: \t  value with  inner \t spaces \t ", "value with  inner \t spaces"),
        ("X-A:", ""),
        ("X-A:    ", ""),
        ("X-A: \"quoted; x=1\"", "\"quoted; x=1\""),
    ])
    func headerValueOWSTrimmed(line: String, value: String) throws {
        let head = try #require(parse("GET / HTTP/1.1\r\nHost: h\r\n\(line)\r\n\r\n").head)
        #expect(head.headers["x-a"] == value)
    }

    @Test func utf8ObsTextIsKeptAndInvalidUTF8Rejected() throws {
        var raw: [UInt8] = Array("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf".utf8)
        let head = try #require(HTTPRequestParser.parseHead(raw + [0xC3, 0xA9] + Array("\r\n\r\n".utf8)).head)
        #expect(head.headers["X-Name"] == "café")
        raw += [0xE9] + Array("\r\n\r\n".utf8)
        #expect(HTTPRequestParser.parseHead(raw).error?.status == 400)
    }

    @Test func optionsAsterisk() throws {
        let head = try #require(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").head)
        #expect(head.target == "*")
        #expect(head.path == "*")
    }

    @Test func methodsAreOpaqueTokens() throws {
        #expect(parse("get / HTTP/1.1\r\nHost: h\r\n\r\n").head?.method == "get")
        #expect(parse("PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n").head?.method == "PROPFIND")
        #expect(parse("\(String(repeating: "M", count: 32)) / HTTP/1.1\r\nHost: h\r\n\r\n").head != nil)
    }

    @Test func expectHandling() throws {
        #expect(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").head?.expectsContinue == true)
        // RFC 9110 §10.1.1: a 100-continue from an HTTP/1.0 client is ignored.
        #expect(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").head?.expectsContinue == false)
        let e = try #require(parse("GET / HTTP/1.1\r\nHost: h\r\nExpect: foo\r\n\r\n").error)
        #expect(e == HTTPParseError(status: 417, code: "EXPECTATION_FAILED", message: e.message))
    }

    @Test func http10WithoutHost() throws {
        let head = try #require(parse("GET / HTTP/1.0\r\n\r\n").head)
        #expect(head.versionMinor == 0)
        #expect(!head.keepAlive)
    }

    @Test(arguments: ["example.com", "example.com:8080", "[::1]:443", "127.0.0.1", "xn--bcher-kva.example", ""])
    func validHosts(host: String) {
        #expect(parse("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n").head?.headers["host"] == host)
    }

    @Test func errorCodesAndMessages() throws {
        let e = try #require(parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n").error)
        #expect(e.status == 400)
        #expect(e.code == "BAD_REQUEST")
        #expect(e.message == "Both Content-Length and Transfer-Encoding")
        #expect(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n").error?.code == "HTTP_VERSION_NOT_SUPPORTED")
    }
}

@Suite struct RequestParserLimitTests {
    let limits = HTTPLimits(maxHeaderBytes: 256, maxURLBytes: 64)

    @Test func requestLineLimitIsExactAndEarly() {
        // "GET " + target + " HTTP/1.1" is exactly 64 bytes: accepted.
        let target = "/" + String(repeating: "a", count: 64 - 4 - 9 - 1)
        #expect(parse("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits).head != nil)
        #expect(parse("GET \(target)a HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits).error?.status == 414)
        // Still arriving, no CRLF yet: refused as soon as the line is over the limit.
        #expect(parse("GET /" + String(repeating: "a", count: 59), limits: limits).isIncomplete)
        #expect(parse("GET /" + String(repeating: "a", count: 60), limits: limits).error?.status == 414)
        #expect(parse("GET /" + String(repeating: "a", count: 59) + "\r", limits: limits).isIncomplete)
    }

    @Test func headerBytesLimitIsExactAndEarly() {
        let start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: "
        let padding = 256 - start.utf8.count - 4
        let exact = start + String(repeating: "p", count: padding) + "\r\n\r\n"
        #expect(exact.utf8.count == 256)
        #expect(parse(exact, limits: limits).head != nil)
        let over = start + String(repeating: "p", count: padding + 1) + "\r\n\r\n"
        #expect(parse(over, limits: limits).error?.status == 431)
        #expect(parse(over, limits: limits).error?.code == "HEADERS_TOO_LARGE")
        // Incomplete: fine up to the limit, refused one byte later.
        let partial = latin1(start + String(repeating: "p", count: 300))
        #expect(HTTPRequestParser.parseHead(Array(partial[..<256]), limits: limits).isIncomplete)
        #expect(HTTPRequestParser.parseHead(Array(partial[..<257]), limits: limits).error?.status == 431)
        // Leading CRLFs count too.
        #expect(parse(String(repeating: "\r\n", count: 129), limits: limits).error?.status == 431)
    }

    @Test func bodyBytesAfterHeadDoNotCountAgainstLimit() throws {
        let raw = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "b", count: 1000)
        #expect(parse(raw, limits: limits).head?.framing == .contentLength(1000))
    }

    @Test func headerCountLimit() {
        func request(_ count: Int) -> String {
            "GET / HTTP/1.1\r\n" + (0..<count).map { "H\($0): v\r\n" }.joined() + "\r\n"
        }
        let small = HTTPLimits(maxHeaderBytes: 1 << 20, maxURLBytes: 8192, maxHeaderCount: 5)
        #expect(parse(request(5).replacingFirst("H0", with: "Host"), limits: small).head != nil)
        #expect(parse(request(6).replacingFirst("H0", with: "Host"), limits: small).error?.status == 431)
        #expect(HTTPLimits().maxHeaderCount == 100)
        #expect(parse(request(100).replacingFirst("H0", with: "Host")).head?.headers.count == 100)
        #expect(parse(request(101).replacingFirst("H0", with: "Host")).error?.status == 431)
    }

    @Test func garbageIsRefusedBeforeTheHeadEnds() {
        // A TLS ClientHello on the plain port, a bare LF, a broken request line: no need to wait for more bytes.
        #expect(HTTPRequestParser.parseHead([0x16, 0x03, 0x01, 0x02, 0x00]).error?.status == 400)
        #expect(parse("GET / HTTP/1.1\nHost").error?.status == 400)
        #expect(parse("GET / HTTP/3.0\r\nHost: h\r\n").error?.status == 505)
        #expect(parse("GET http://x/ HTTP/1.1\r\n").error?.status == 400)
        #expect(parse(String(repeating: "A", count: 40)).error?.status == 400)
        #expect(parse("GET").isIncomplete)
        #expect(parse("GET / HTTP/1.1\r\nHost: h\r\n").isIncomplete)
    }
}

extension String {
    func replacingFirst(_ a: String, with b: String) -> String {
        guard let r = range(of: a) else { return self }
        return replacingCharacters(in: r, with: b)
    }
}
