import RampartHTTP
import Testing

/// One upstream head through Rampart's own response parser.
func parseResponse(_ s: String, method: String = "GET") -> ResponseParseResult {
    latin1(s).withUnsafeBytes { HTTPResponseParser.parseHead($0, requestMethod: method) }
}

extension ResponseParseResult {
    var error: UpstreamResponseError? {
        if case .failure(let e) = self { return e }
        return nil
    }
    var framing: ResponseFraming? {
        if case .complete(_, let f, _, _) = self { return f }
        return nil
    }
    var keepAlive: Bool? {
        if case .complete(_, _, let k, _) = self { return k }
        return nil
    }
}

/// The rules upstream framing is held to (`ResponseFramingRules`), by the byte parser and by the
/// string check libcurl's heads get, and what the client-facing machine makes of any head.
@Suite struct ResponseFramingRulesTests {
    static let refused: [(field: String, why: String)] = [
        ("Content-Length: 0x10", "invalid Content-Length"),
        ("Content-Length: +5", "invalid Content-Length"),
        ("Content-Length: -1", "invalid Content-Length"),
        ("Content-Length: 5, 6", "invalid Content-Length"),
        ("Content-Length: 5, 5", "invalid Content-Length"),
        ("Content-Length: 1e3", "invalid Content-Length"),
        ("Content-Length: 99999999999999999999", "invalid Content-Length"),
        ("Content-Length: 5\r\nContent-Length: 5", "multiple Content-Length fields"),
        ("Content-Length: 5\r\nTransfer-Encoding: chunked", "both Content-Length and Transfer-Encoding"),
        ("Transfer-Encoding: gzip", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: gzip, chunked", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: chunked, chunked", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", "unsupported Transfer-Encoding"),
    ]

    /// Every status, bodiless ones and interim ones included: a bad framing field is refused even
    /// where no body follows, since it would otherwise be relayed (or read by a lenient client).
    @Test(arguments: refused)
    func untrustworthyFramingIsRefusedOnEveryStatus(_ c: (field: String, why: String)) {
        for (status, method) in [(200, "GET"), (204, "GET"), (304, "GET"), (200, "HEAD"), (103, "GET")] {
            let r = parseResponse("HTTP/1.1 \(status) X\r\n\(c.field)\r\n\r\n", method: method)
            #expect(r.error == UpstreamResponseError(c.why), "\(status) \(method) \(c.field.debugDescription)")
            #expect(r.error?.status == 502 && r.error?.code == "UPSTREAM_ERROR")
        }
    }

    /// libcurl parses heads itself (leniently); the same fields give the same verdict on its head.
    @Test(arguments: refused)
    func theStringCheckAgreesWithTheByteParser(_ c: (field: String, why: String)) {
        var headers = HTTPHeaders()
        for line in c.field.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers.add(String(parts[0]), String(parts[1].drop { $0 == " " }))
        }
        #expect(ResponseFramingRules.declared(headers, versionMinor: 1) == .failure(UpstreamResponseError(c.why)))
    }

    @Test func transferEncodingInAnHTTP10ResponseIsRefused() {
        let r = parseResponse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(r.error == UpstreamResponseError("Transfer-Encoding in an HTTP/1.0 response"))
    }

    @Test func validFramingIsReadAsDeclared() {
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").framing == .contentLength(0))
        #expect(parseResponse("HTTP/1.1 200 OK\r\nContent-Length:  12 \r\n\r\n").framing == .contentLength(12))
        #expect(parseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n").framing == .chunked)
        let untilClose = parseResponse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
        #expect(untilClose.framing == .untilClose && untilClose.keepAlive == false)
        for (status, method) in [(204, "GET"), (304, "GET"), (200, "HEAD"), (100, "GET")] {
            #expect(parseResponse("HTTP/1.1 \(status) X\r\nContent-Length: 7\r\n\r\n", method: method).framing == ResponseFraming.none)
        }
    }

    /// A 204 that announces a body (or a 304 that announces chunks) may still send it after the
    /// head; a HEAD or 304 length is only the GET's, so those connections stay reusable.
    @Test(arguments: [
        ("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "GET", false),
        ("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", false),
        ("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", "GET", true),
        ("HTTP/1.1 204 No Content\r\n\r\n", "GET", true),
        ("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET", true),
        ("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", false),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", true),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", true),
    ])
    func aBodilessAnswerThatAnnouncesABodyIsNotReused(head: String, method: String, reusable: Bool) {
        #expect(parseResponse(head, method: method).keepAlive == reusable)
    }

    // MARK: The upstream client

    /// Chunks that arrive with the head are checked before the head is handed out: broken framing
    /// there is a failure without a head (502), never a relayed head and then a cut.
    @Test(arguments: ["zz\r\nhello\r\n0\r\n\r\n", "-5\r\nhello\r\n", "fffffffffffffffffff\r\n", "5\nhello\r\n0\r\n\r\n",
                      "5\r\nhelloXX\r\n0\r\n\r\n"])
    func badChunksThatCameWithTheHeadFailBeforeTheHead(chunks: String) {
        var m = HTTP1ClientMachine(method: "GET", body: .none)
        m.connected(reused: false)
        let input = latin1("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
        let action = input.withUnsafeBytes { m.readResponse($0) }
        guard case .fail(.invalidResponse(let e)) = action else { Issue.record("\(action)"); return }
        #expect(e.message.hasPrefix("bad chunked body: ") && e.code == "UPSTREAM_ERROR")
    }

    @Test func goodChunksThatCameWithTheHeadPassAndTheHeadGoesOut() {
        var m = HTTP1ClientMachine(method: "GET", body: .none)
        m.connected(reused: false)
        let input = latin1("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 junk after the body")
        let action = input.withUnsafeBytes { m.readResponse($0) }
        guard case .head(let head, _) = action else { Issue.record("\(action)"); return }
        #expect(head.status == 200)
    }

    // MARK: What the client is sent

    static func frame(_ status: Int, _ fields: [(String, String)], method: String = "GET", version: String = "1.1")
        -> (head: HTTPResponseHead, machine: HTTP1ServerMachine) {
        let wire = ServerWire()
        wire.receive("\(method) / HTTP/\(version)\r\nHost: x\r\n\r\n")
        var head = HTTPResponseHead(status: status, headers: HTTPHeaders(fields.map { HTTPField(name: $0.0, value: $0.1) }))
        #expect(wire.machine.responseHead(&head, shuttingDown: false))
        return (head, wire.machine)
    }

    /// 1xx, 204 and 304 go out with neither a length nor a coding, whatever the head carried.
    @Test(arguments: [100, 103, 204, 304])
    func noLengthOnBodilessStatuses(status: Int) {
        let (head, framed) = Self.frame(status, [("Content-Length", "5"), ("Transfer-Encoding", "chunked"), ("ETag", "\"v\"")])
        var m = framed
        #expect(!head.headers.contains("Content-Length") && !head.headers.contains("Transfer-Encoding"))
        #expect(head.headers["ETag"] == "\"v\"")
        #expect(m.responseFraming == .none && m.admitBody(5) == 0)
    }

    @Test func aHeadAnswerKeepsAValidLengthOnly() {
        let (valid, _) = Self.frame(200, [("Content-Length", "5")], method: "HEAD")
        #expect(valid.headers["Content-Length"] == "5")
        let (bad, m) = Self.frame(200, [("Content-Length", "0x10"), ("Transfer-Encoding", "chunked")], method: "HEAD")
        #expect(!bad.headers.contains("Content-Length") && !bad.headers.contains("Transfer-Encoding"))
        #expect(m.responseFraming == .none)
    }

    /// A length the machine cannot honour is dropped and the body re-framed, never sent as is.
    @Test(arguments: [[("Content-Length", "0x10")], [("Content-Length", "5"), ("Content-Length", "6")], [("Content-Length", "")],
                      [("Transfer-Encoding", "gzip")]])
    func anUntrustworthyLengthIsReframed(fields: [(String, String)]) {
        let (head, m) = Self.frame(200, fields)
        #expect(head.headers.values("Content-Length").isEmpty && head.headers.values("Transfer-Encoding") == ["chunked"])
        #expect(m.responseFraming == .chunked)
        let (old, m10) = Self.frame(200, fields, version: "1.0")
        #expect(old.headers.values("Content-Length").isEmpty && !old.headers.contains("Transfer-Encoding"))
        #expect(m10.responseFraming == .closeDelimited && old.headers["Connection"] == "close")
    }

    /// An identity body is honoured byte for byte: never more than declared, and a clean end short
    /// of it closes the connection (the client sees a truncated message, never waits).
    @Test func aDeclaredLengthIsHonouredExactly() {
        var (_, over) = Self.frame(200, [("Content-Length", "5")])
        #expect(over.admitBody(3) == 3 && over.admitBody(4) == 2 && over.admitBody(1) == 0)
        #expect(over.endResponse(buffered: 0, now: 0) == .close, "the excess was dropped: the connection closes after")
        var (_, exact) = Self.frame(200, [("Content-Length", "5")])
        #expect(exact.admitBody(5) == 5 && exact.endResponse(buffered: 0, now: 0) == .nextRequest)
        var (_, short) = Self.frame(200, [("Content-Length", "5")])
        #expect(short.admitBody(4) == 4 && short.endResponse(buffered: 0, now: 0) == .close)
    }
}
