import RampartHTTP
import Testing

/// Inputs the libFuzzer targets (Fuzz/, `make fuzz`) found, each kept here with its exact bytes.
@Suite struct FuzzFindingsTests {
    static let smallLimits = HTTPLimits(maxHeaderBytes: 300, maxURLBytes: 60, maxHeaderCount: 8)

    /// The parser's first verdict when the bytes arrive one at a time (what a slow client gets).
    static func bytewise(_ bytes: [UInt8], limits: HTTPLimits) -> HeadParseResult {
        for n in 1...bytes.count {
            let r = HTTPRequestParser.parseHead(Array(bytes[..<n]), limits: limits)
            if r != .incomplete { return r }
        }
        return .incomplete
    }

    /// request-head: a request line longer than max_url_bytes whose method was already invalid got
    /// 414 when it arrived whole and 400 when it arrived byte by byte. A line past the limit now
    /// gets the answer it gets byte by byte: the method first, then the length.
    @Test func invalidMethodOutranksAnOverlongRequestLine() {
        let input = Array("POST".utf8) + [UInt8](repeating: 0, count: 61) + Array(" ".utf8)
            + Array(repeating: UInt8(ascii: "!"), count: 26) + Array("=".utf8) + [UInt8](repeating: 0, count: 7)
            + Array(".com\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8)
        #expect(input.count == 160)
        let whole = HTTPRequestParser.parseHead(input, limits: Self.smallLimits)
        #expect(whole.error == .badRequest("Invalid method"))
        #expect(Self.bytewise(input, limits: Self.smallLimits) == whole)
        // Still incomplete (no line feed yet) but already past the limit: the method decides too.
        #expect(HTTPRequestParser.parseHead(Array(input[..<90]), limits: Self.smallLimits).error == .badRequest("Invalid method"))
        // A valid method with an overlong line is still 414.
        let long = Array("GET /".utf8) + Array(repeating: UInt8(ascii: "a"), count: 70) + Array(" HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        #expect(HTTPRequestParser.parseHead(long, limits: Self.smallLimits).error?.status == 414)
        #expect(Self.bytewise(long, limits: Self.smallLimits).error?.status == 414)
    }

    /// request-head: a request line that passes max_url_bytes and then holds a bare LF got 400
    /// (bare LF) when it arrived whole and 414 when it arrived byte by byte (the limit is passed
    /// before the LF comes). The length is now judged first either way.
    @Test func overlongRequestLineOutranksALaterBareLF() {
        let input = Array("GET / H*TTPH".utf8) + [UInt8](repeating: 0xFF, count: 121)
            + Array("TTP/2.0st: \n\rExhepct: foo\r\n\r\n".utf8)
        #expect(input.count == 162)
        let whole = HTTPRequestParser.parseHead(input, limits: Self.smallLimits)
        #expect(whole.error?.status == 414)
        #expect(Self.bytewise(input, limits: Self.smallLimits) == whole)
        // Under the limit, the bare LF is what is wrong.
        let short = Array("GET / HTTP/1.1x\nHost: h\r\n\r\n".utf8)
        #expect(HTTPRequestParser.parseHead(short, limits: Self.smallLimits).error == .badRequest("Bare LF in request"))
        #expect(Self.bytewise(short, limits: Self.smallLimits).error == .badRequest("Bare LF in request"))
    }

    /// request-head: an unsupported version followed by a bare LF in the next line got 400 (bare
    /// LF) when it arrived whole and 505 when it arrived byte by byte (the request line is judged
    /// as soon as it ends). The request line's verdict now comes first either way.
    @Test func requestLineVerdictOutranksALaterBareLF() {
        let input = Array("GET / HTTP/9.1\r\nHost: example.co:\n \r\rm\nb\r\n".utf8)
        let whole = HTTPRequestParser.parseHead(input, limits: HTTPLimits())
        #expect(whole.error?.status == 505)
        #expect(Self.bytewise(input, limits: HTTPLimits()) == whole)
        #expect(Self.bytewise(input, limits: Self.smallLimits) == HTTPRequestParser.parseHead(input, limits: Self.smallLimits))
    }

    /// response-head: a response without a body (to a HEAD, or a 1xx/204/304) skipped the framing
    /// checks, so Content-Length beside Transfer-Encoding, or a Content-Length that is not a plain
    /// decimal, was accepted and relayed as is. Every response's framing fields are checked now.
    @Test func bodilessResponsesHaveTheirFramingFieldsChecked() {
        func parse(_ s: String, _ method: String) -> ResponseParseResult {
            Array(s.utf8).withUnsafeBytes { HTTPResponseParser.parseHead($0, requestMethod: method) }
        }
        /// Refused as framing Rampart cannot trust (a 502 to the client).
        func refused(_ r: ResponseParseResult) -> Bool { if case .failure = r { return true }; return false }
        #expect(refused(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD")))
        #expect(refused(parse("HTTP/1.1 204 No Content\r\nContent-Length: 0x10\r\n\r\n", "GET")))
        #expect(refused(parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", "GET")))
        #expect(refused(parse("HTTP/1.1 103 Early Hints\r\nContent-Length: -1\r\n\r\n", "GET")))
        // A plain length on a bodiless response is still read as no body.
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
        guard case .complete(_, let framing, _, let consumed) = parse(head, "HEAD") else {
            Issue.record("HEAD response with a plain Content-Length refused")
            return
        }
        #expect(framing == .none && consumed == head.utf8.count)
    }

    /// sse: an event close to maxEventBytes was dropped when its line arrived in pieces (the
    /// partial line counted against the bound) and kept when it arrived whole (only its data
    /// counted). A whole line now meets the same bound, so the cut never decides.
    @Test func sseEventBoundDoesNotDependOnTheCut() {
        let stream = Array(("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
            + "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
            + "data: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\n"
            + "data: [DONE]\n\n").utf8)
        func run(_ pieces: [[UInt8]]) -> ([SSEEvent], Int) {
            var p = SSEParser(maxEventBytes: 48)
            var events: [SSEEvent] = []
            for piece in pieces { p.feed(piece) { events.append($0) } }
            return (events, p.droppedEvents)
        }
        let whole = run([stream])
        #expect(whole.0 == [SSEEvent(data: "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"), SSEEvent(data: "[DONE]")])
        #expect(whole.1 == 2)
        let bytewise = run(stream.map { [$0] })
        #expect(bytewise.0 == whole.0 && bytewise.1 == whole.1)
    }

    /// response-head (the 600 s run): a chunked 200 whose first chunk-size line is NUL bytes was
    /// refused before its head when the bytes came with the head, and relayed as a head then cut
    /// when they came later. Both stand (the head is never held back waiting for chunk bytes, which
    /// an SSE stream's head must not be); what is pinned is the verdict: the same framing error,
    /// with a head only when the bytes were not at hand, and never a body byte of the broken chunk.
    @Test func aBrokenFirstChunkIsTheSameFailureWhereverTheCutFalls() {
        let bytes = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) + [UInt8](repeating: 0, count: 50)
        func run(_ pieces: [[UInt8]]) -> (head: Int?, body: Int, failure: HTTP1ClientMachine.Failure?) {
            var m = HTTP1ClientMachine(method: "GET", body: .none)
            var request: [UInt8] = []
            m.encodeHead(target: "/", headers: ["Host": "upstream"], into: &request)
            m.connected(reused: false)
            _ = m.sent(request.count)
            var input: [UInt8] = [], head: Int?, body = 0
            for piece in pieces {
                input += piece
                while true {
                    switch input.withUnsafeBytes({ m.readResponse($0) }) {
                    case .needMore(let c): input.removeFirst(c)
                    case .head(let h, let c): head = h.status; input.removeFirst(c); continue
                    case .body(let r): body += r.count; input.removeFirst(r.upperBound); continue
                    case .fail(let f): return (head, body, f)
                    case .complete, .retryOnFreshConnection: return (head, body, nil)
                    case .upgraded: Issue.record("a 101 ended a request that asked for no upgrade"); return (head, body, nil)
                    }
                    break
                }
            }
            return (head, body, nil)
        }
        let whole = run([bytes])
        let bytewise = run(bytes.map { [$0] })
        let failure = HTTP1ClientMachine.Failure.invalidResponse(UpstreamResponseError("bad chunked body: Invalid chunk size"))
        #expect(whole.head == nil && whole.body == 0 && whole.failure == failure, "at hand: a 502 before any head")
        #expect(bytewise.head == 200 && bytewise.body == 0 && bytewise.failure == failure, "later: the relayed head is cut")
    }

    /// response-head (2026-12-07): a reason with a control byte ("Request\x19Header Fields Too
    /// Large") is written with a space for it, which is the standard phrase of 431; parsed again,
    /// the head keeps no copy of a standard phrase (`reason` nil stands for it). The phrase the
    /// head carries is still the sanitised one, and the bytes on the wire are the same.
    @Test func aSanitisedReasonThatBecomesTheStandardPhraseRoundTrips() throws {
        let input = Array("HTTP/1.1 431 Request\u{19}Header Fields Too Large\r\n\r\n".utf8)
        let first = input.withUnsafeBytes { HTTPResponseParser.parseHead($0, requestMethod: "GET") }
        guard case .complete(let head, _, _, _) = first else { Issue.record("\(first)"); return }
        #expect(head.reason == "Request\u{19}Header Fields Too Large")
        var wire: [UInt8] = []
        head.serialize(into: &wire)
        #expect(String(decoding: wire, as: UTF8.self).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        let again = wire.withUnsafeBytes { HTTPResponseParser.parseHead($0, requestMethod: "GET") }
        guard case .complete(let head2, _, _, _) = again else { Issue.record("\(again)"); return }
        #expect(head2.reason == nil)
        #expect((head2.reason ?? HTTPResponseHead.reasonPhrase(head2.status)) == "Request Header Fields Too Large")
        var wire2: [UInt8] = []
        head2.serialize(into: &wire2)
        #expect(wire2 == wire)
    }
}
