import Foundation
import RampartHTTP
import Testing

/// Requests that are odd but legal: each must reach the upstream as exactly one request, in one
/// unambiguous framing, with the body the client meant.
private let acceptedCases: [(name: String, raw: String, body: String)] = [
    ("plain get", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", ""),
    ("te uppercase", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "abc"),
    ("te with ows", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:   chunked  \r\n\r\n3\r\nabc\r\n0\r\n\r\n", "abc"),
    ("cl leading zeros", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0005\r\n\r\nhello", "hello"),
    ("cl lowercase name", "POST /a HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\n\r\nabc", "abc"),
    ("request inside cl body", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 38\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n", "GET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n"),
    ("request inside chunk", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n26\r\nGET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n\r\n0\r\n\r\n", "GET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n"),
    ("chunk extensions", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;foo=bar\r\nabc\r\n2;q=\"x y\"\r\nde\r\n0\r\n\r\n", "abcde"),
    ("chunk trailers dropped", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n", "abc"),
    ("chunk size uppercase hex", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", "0123456789"),
    ("chunk size leading zeros", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0003\r\nabc\r\n0\r\n\r\n", "abc"),
    ("empty chunked body", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ""),
    ("get with cl 0", "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", ""),
    ("http 1.0 with cl", "POST /a HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", "hi"),
    ("tab in value", "GET /a HTTP/1.1\r\nHost: x\r\nX-A:\tvalue\twith tab\r\n\r\n", ""),
    ("duplicate plain header", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\n\r\n", ""),
    ("upgrade stripped", "GET /a HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n\r\n", ""),
    ("expect continue", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok", "ok"),
    ("encoded crlf in query", "GET /a?x=%0d%0aSet-Cookie:%20a HTTP/1.1\r\nHost: x\r\n\r\n", ""),
    ("dot segments", "GET /a/../b/./c HTTP/1.1\r\nHost: x\r\n\r\n", ""),
    ("host with port", "GET /a HTTP/1.1\r\nHost: x:8080\r\n\r\n", ""),
    ("te chunked with cl-looking body", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n11\r\nContent-Length: 0\r\n0\r\n\r\n", "Content-Length: 0"),
    ("long header value", "GET /a HTTP/1.1\r\nHost: x\r\nX-Long: \(String(repeating: "v", count: 8000))\r\n\r\n", ""),
    ("leading crlf", "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n", ""),
]

/// Splits what the upstream received into complete requests with the strict parser.
private func requestsIn(_ bytes: [UInt8]) -> (heads: [HTTPRequestHead], bodies: [[UInt8]], leftover: Int) {
    var heads: [HTTPRequestHead] = [], bodies: [[UInt8]] = []
    var rest = bytes[...]
    while !rest.isEmpty {
        let result = Array(rest).withUnsafeBytes { HTTPRequestParser.parseHead($0, limits: HTTPLimits(maxHeaderBytes: 65536, maxURLBytes: 65536)) }
        guard case .complete(let head, let consumed) = result else { break }
        rest = rest.dropFirst(consumed)
        var body: [UInt8] = []
        switch head.framing {
        case .none: break
        case .contentLength(let n): body = Array(rest.prefix(n)); rest = rest.dropFirst(n)
        case .chunked:
            var decoder = ChunkedDecoder()
            let r = Array(rest).withUnsafeBytes { raw in decoder.decode(raw) { body += $0 } }
            switch r {
            case .finished(let c): rest = rest.dropFirst(c)
            default: return (heads + [head], bodies + [body], rest.count)
            }
        }
        heads.append(head); bodies.append(body)
    }
    return (heads, bodies, rest.count)
}

@Suite(.serialized) struct SmugglingCorpusTests {
    @Test func everyCaseIsRejectedOrForwardedAsExactlyOneUnambiguousRequest() throws {
        let upstream = try RawUpstream(response: RawUpstream.fixed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        let rampart = try RampartProcess(config: testConfig(upstream: upstream.url))
        let url = URL(fileURLWithPath: Binaries.repoRoot + "/Tests/Fixtures/malformed-requests.json")
        let malformed = try JSONDecoder().decode([MalformedCase].self, from: Data(contentsOf: url))
        var cases = malformed.map { (name: $0.name, raw: $0.raw, body: Optional<String>.none, status: $0.status) }
        cases += acceptedCases.map { (name: $0.name, raw: $0.raw, body: Optional($0.body), status: 200) }
        #expect(cases.count >= 60)

        for c in cases {
            let before = upstream.connections.map(\.count)
            let client = try HTTPClient(port: rampart.port)
            try client.send(Array(c.raw.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }))
            let response = try client.readResponse()
            // What this case added, per upstream connection (pooled connections grow in place).
            let sent = upstream.connections.enumerated().flatMap { i, bytes in Array(bytes.dropFirst(i < before.count ? before[i] : 0)) }
            if let expectedBody = c.body {
                #expect(response.status == 200, "\(c.name): accepted and answered")
                let parsed = requestsIn(sent)
                #expect(parsed.heads.count == 1 && parsed.leftover == 0, "\(c.name): exactly one request upstream, got \(parsed.heads.count) (+\(parsed.leftover) bytes)")
                if let head = parsed.heads.first {
                    let framing = head.headers.values("Content-Length").count + head.headers.values("Transfer-Encoding").count
                    #expect(framing <= 1, "\(c.name): one framing header upstream")
                    #expect(parsed.bodies.first == Array(expectedBody.utf8), "\(c.name): body forwarded intact")
                    #expect(!head.headers.contains("Upgrade") && !head.headers.contains("Expect"), "\(c.name): hop-by-hop dropped")
                }
            } else {
                #expect(response.status == c.status, "\(c.name): rejected with \(c.status), got \(response.status)")
                #expect(response.header("Connection") == "close", "\(c.name): closed")
                #expect(sent.isEmpty, "\(c.name): nothing forwarded (\(sent.count) bytes)")
            }
        }
    }
}
