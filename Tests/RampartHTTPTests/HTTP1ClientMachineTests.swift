import RampartHTTP
import Testing

/// Plays the I/O shell around `HTTP1ClientMachine` with byte arrays instead of sockets: keeps the
/// input buffer, performs each action and records what the handler (the client) would see.
private struct Shell {
    typealias Machine = HTTP1ClientMachine
    var m: Machine
    var input: [UInt8] = []
    var head: HTTPResponseHead?
    var body: [UInt8] = []
    var slices: [Int] = []
    /// complete / fail / retry, once the exchange is over (or must restart).
    var outcome: Machine.ResponseAction?
    /// What the handler answers to each body slice; false = pause.
    var acceptBody = true

    init(method: String = "GET", requestBody: Machine.RequestBody = .none, reused: Bool = false, flushed: Bool = true) {
        m = Machine(method: method, body: requestBody)
        var h: [UInt8] = []
        m.encodeHead(target: "/x", headers: HTTPHeaders([HTTPField(name: "Host", value: "up")]), into: &h)
        m.connected(reused: reused)
        if flushed { _ = m.sent(h.count) }
    }

    mutating func feed(_ s: String) { feed(latin1(s)) }
    mutating func feed(_ bytes: [UInt8]) { input += bytes; run() }
    mutating func eof() { m.receivedEOF(); run() }
    mutating func resume() { if m.resumeReading() { run() } }

    mutating func run() {
        while outcome == nil {
            let action = input.withUnsafeBytes { m.readResponse($0) }
            switch action {
            case .needMore(let c):
                input.removeFirst(c); return
            case .head(let h, let c):
                #expect(head == nil, "one final head only")
                head = h; input.removeFirst(c)
            case .body(let r):
                body += input[r]; slices.append(r.count); input.removeFirst(r.upperBound)
                if !acceptBody { m.pauseReading() }
            case .complete(let c, _):
                input.removeFirst(c); outcome = action
            case .upgraded(_, let c):
                input.removeFirst(c); outcome = action
            case .retryOnFreshConnection, .fail:
                outcome = action
            }
        }
    }

    var reusable: Bool? {
        if case .complete(_, let r) = outcome { return r }
        return nil
    }
    var failure: Machine.Failure? {
        if case .fail(let f) = outcome { return f }
        return nil
    }
}

private func chunkedResponse(_ body: String) -> String {
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body
}

@Suite struct HTTP1ClientMachineTests {
    // MARK: Response framing

    @Test func contentLengthBodyArrivesWholeInSlicesOfAtMost64KiB() {
        let n = 150 * 1024
        var s = Shell()
        s.feed("HTTP/1.1 200 OK\r\nContent-Length: \(n)\r\n\r\n")
        #expect(s.head?.status == 200)
        s.feed([UInt8](repeating: 0x61, count: n - 10))
        #expect(s.outcome == nil, "not complete before the last byte")
        s.feed([UInt8](repeating: 0x62, count: 10))
        #expect(s.body.count == n)
        #expect(s.body.suffix(10) == [UInt8](repeating: 0x62, count: 10))
        #expect(s.slices.allSatisfy { $0 <= HTTP1ClientMachine.deliverSlice })
        #expect(s.slices.prefix(3) == [65536, 65536, n - 10 - 131072])
        #expect(s.reusable == true, "a keep-alive response read exactly to its end returns the connection to the pool")
    }

    static let chunked = chunkedResponse(
        "5;ext=1\r\nhello\r\n1\r\n \r\n00005\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n")

    @Test func chunkedBodySplitAtEveryByteBoundaryDecodesTheSame() {
        let bytes = latin1(Self.chunked)
        for k in 0...bytes.count {
            var s = Shell()
            s.feed(Array(bytes[..<k]))
            s.feed(Array(bytes[k...]))
            #expect(s.head?.status == 200, "split \(k)")
            #expect(s.body == Array("hello world".utf8), "split \(k)")
            #expect(s.reusable == true, "split \(k)")
        }
        var bytewise = Shell()
        for b in bytes { bytewise.feed([b]) }
        #expect(bytewise.body == Array("hello world".utf8))
        #expect(bytewise.reusable == true)
    }

    @Test func chunkedRunsLeaveOneAtATime() {
        var s = Shell()
        s.feed(Self.chunked)
        #expect(s.slices == [5, 1, 5], "each payload run is its own action, framing never handed out")
    }

    @Test func badChunkFramingFailsInsteadOfGuessing() {
        var s = Shell()
        s.feed(chunkedResponse(""))
        s.feed("5\r\nhelloXX\r\n0\r\n\r\n")
        #expect(s.body == Array("hello".utf8))
        #expect(s.failure == .invalidResponse(UpstreamResponseError("bad chunked body: Chunk data not followed by CRLF")))
    }

    @Test func untilCloseBodyEndsOnlyWithTheUpstreamsClose() {
        var s = Shell()
        s.feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ")
        s.feed("stream")
        #expect(s.outcome == nil, "no length: the body goes on until the upstream closes")
        s.eof()
        #expect(s.body == Array("some stream".utf8))
        #expect(s.reusable == false, "a connection that ended the body by closing is never pooled")
    }

    @Test func interimResponsesAreSkipped() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
            + "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
        let bytes = latin1(text)
        for k in [0, 10, 25, 60, bytes.count] {
            var s = Shell()
            s.feed(Array(bytes[..<k]))
            s.feed(Array(bytes[k...]))
            #expect(s.head?.status == 201, "the client sees the final response only (split \(k))")
            #expect(s.body == Array("ok".utf8))
            #expect(s.reusable == true)
        }
    }

    @Test func switchingProtocolsIsRefused() {
        var s = Shell()
        s.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
        #expect(s.head == nil)
        #expect(s.failure == .invalidResponse(UpstreamResponseError("unexpected protocol switch")))
    }

    @Test func malformedHeadIsAnInvalidResponse() {
        var s = Shell()
        s.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(s.head == nil)
        #expect(s.failure == .invalidResponse(UpstreamResponseError("both Content-Length and Transfer-Encoding")))
    }

    @Test func headAnd204And304CarryNoBody() {
        for (method, status) in [("HEAD", 200), ("GET", 204), ("GET", 304)] {
            var s = Shell(method: method)
            s.feed("HTTP/1.1 \(status) X\r\nContent-Length: 1000\r\n\r\n")
            #expect(s.head?.status == status)
            #expect(s.body.isEmpty)
            // A HEAD or 304 length is the GET's; a 204 that announces 1000 bytes may still send them.
            #expect(s.reusable == (status != 204), "\(method) \(status) completes at the end of the head, no wait for 1000 bytes")
        }
    }

    // MARK: Reuse

    @Test func connectionIsReusableOnlyWhenNothingIsLeftOver() {
        var extra = Shell()
        extra.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n")
        #expect(extra.body == Array("ok".utf8))
        #expect(extra.reusable == false, "bytes after the body would be read as the next request's response")

        var close = Shell()
        close.feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        #expect(close.reusable == false)

        var http10 = Shell()
        http10.feed("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(http10.reusable == false)

        var unsentRequest = Shell(flushed: false)
        unsentRequest.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(unsentRequest.reusable == false, "a request still half written would corrupt the next one")

        var bodyStillOpen = Shell(requestBody: .streamed)
        bodyStillOpen.feed("HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
        #expect(bodyStillOpen.reusable == false)
    }

    // MARK: Backpressure

    @Test func downloadPauseStopsDeliveryAndResumeDeliversTheRest() {
        let n = 200 * 1024
        var s = Shell()
        s.acceptBody = false
        s.feed(latin1("HTTP/1.1 200 OK\r\nContent-Length: \(n)\r\n\r\n") + [UInt8](repeating: 7, count: n))
        #expect(s.body.count == HTTP1ClientMachine.deliverSlice, "one slice, then nothing while the client is slow")
        #expect(s.m.readPaused)
        s.run()
        #expect(s.body.count == HTTP1ClientMachine.deliverSlice, "paused stays paused")
        s.acceptBody = true
        s.resume()
        #expect(s.body.count == n)
        #expect(s.reusable == true)
    }

    @Test func chunkedPauseHoldsTheNextRun() {
        var s = Shell()
        s.acceptBody = false
        s.feed(Self.chunked)
        #expect(s.body == Array("hello".utf8))
        s.acceptBody = true
        s.resume()
        #expect(s.body == Array("hello world".utf8))
        #expect(s.reusable == true)
    }

    @Test func pauseOnTheLastSliceStillCompletes() {
        var s = Shell()
        s.acceptBody = false
        s.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
        #expect(s.body == Array("abc".utf8))
        #expect(s.reusable == true, "a pause asks for no more bytes; it does not hold the end of the response")
    }

    @Test func bodyBufferedBeforeTheCloseIsDeliveredAfterResume() {
        var s = Shell()
        s.acceptBody = false
        s.feed(latin1("HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n") + [UInt8](repeating: 1, count: 70000))
        s.eof()
        #expect(s.outcome == nil, "the close waits behind the buffered bytes")
        s.acceptBody = true
        s.resume()
        #expect(s.body.count == 70000)
        #expect(s.reusable == false, "complete, not a reset; but the connection is closed")
    }

    @Test func uploadPausesAtTheHighWatermarkAndResumesBelowTheLow() {
        var m = HTTP1ClientMachine(method: "POST", body: .streamed)
        var head: [UInt8] = []
        m.encodeHead(target: "/", headers: HTTPHeaders(), into: &head)
        #expect(String(decoding: head, as: UTF8.self) == "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        m.connected(reused: false)
        var chunkHeader: [UInt8] = []
        do { let r = m.frameBody(count: 255, chunkHeader: &chunkHeader); #expect(r == .chunk(acceptMore: true)) }
        #expect(chunkHeader == Array("ff\r\n".utf8))
        do { let r = m.frameBody(count: 100_000, chunkHeader: &chunkHeader); #expect(r == .chunk(acceptMore: true)) }
        do {
            let r = m.frameBody(count: 200_000, chunkHeader: &chunkHeader)
            #expect(r == .chunk(acceptMore: false),
                "the client is paused once 256 KiB wait to be written")
        }
        #expect(m.unsent == head.count + 255 + 4 + 2 + 100_000 + 7 + 2 + 200_000 + 7 + 2)
        do { let r = m.sent(100_000); #expect(r == false, "still above the low watermark") }
        do { let r = m.sent(100_000); #expect(r == true, "below 128 KiB: ask the client for more") }
        do { let r = m.sent(10); #expect(r == false, "asked once") }
        do { let r = m.endBody(); #expect(r == .lastChunk) }
        do { let r = m.endBody(); #expect(r == .nothing) }
        do { let r = m.frameBody(count: 5, chunkHeader: &chunkHeader); #expect(r == .skip, "nothing after the end of the body") }
    }

    @Test func knownLengthUploadIsSentAsIs() {
        var m = HTTP1ClientMachine(method: "PUT", body: .known(3))
        var head: [UInt8] = []
        m.encodeHead(target: "/k", headers: HTTPHeaders(), into: &head)
        #expect(String(decoding: head, as: UTF8.self) == "PUT /k HTTP/1.1\r\nContent-Length: 3\r\n\r\n")
        var scratch: [UInt8] = []
        do { let r = m.frameBody(count: 3, chunkHeader: &scratch); #expect(r == .raw(acceptMore: true)) }
        do { let r = m.frameBody(count: 0, chunkHeader: &scratch); #expect(r == .skip) }
        do { let r = m.endBody(); #expect(r == .ended) }
        #expect(m.requestBytes == head.count + 3)
    }

    // MARK: Upstream closes and resets

    @Test func resetMidBodyNeverLooksLikeACleanEnd() {
        var s = Shell()
        s.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd")
        s.eof()
        #expect(s.body == Array("abcd".utf8))
        #expect(s.failure == .reset("upstream closed mid-body"), "the client never sees a clean end of a truncated body")

        var c = Shell()
        c.feed(chunkedResponse("5\r\nhello\r\n5\r\nwo"))
        c.eof()
        #expect(c.body == Array("hellowo".utf8))
        #expect(c.failure == .reset("upstream closed mid-body"))
    }

    @Test func resetMidHeadIsAFailureWithoutAHead() {
        var s = Shell(reused: true)
        s.feed("HTTP/1.1 200 OK\r\nContent-Le")
        s.eof()
        #expect(s.head == nil)
        #expect(s.failure == .reset("upstream closed mid-head"), "bytes came back: no retry, the upstream may have acted")
    }

    @Test func deadPooledConnectionIsRetriedOnceAndOnlyOnce() {
        var s = Shell(reused: true)
        let requestBytes = s.m.requestBytes
        s.eof()
        #expect(s.outcome == .retryOnFreshConnection)
        #expect(s.m.unsent == requestBytes, "the whole request goes out again")
        #expect(s.m.keepsReplayCopy == false)

        s.outcome = nil
        _ = s.m.startConnecting(now: 0, timeoutNs: 1_000)
        s.m.connected(reused: true)
        _ = s.m.sent(requestBytes)
        s.eof()
        #expect(s.failure == .reset("connection closed before a response"), "a second dead connection is a failure")
    }

    @Test func theRetriedRequestReadsItsResponseNormallyOnTheFreshConnection() {
        var s = Shell(reused: true)
        let requestBytes = s.m.requestBytes
        s.eof()
        #expect(s.outcome == .retryOnFreshConnection)
        s.outcome = nil
        _ = s.m.startConnecting(now: 0, timeoutNs: 1_000)
        s.m.connected(reused: false)
        _ = s.m.sent(requestBytes)
        // The head and the body arrive in separate reads: the old connection's end of stream
        // must not make the new response look cut.
        s.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        #expect(s.head?.status == 200 && s.outcome == nil)
        s.feed("hello")
        #expect(s.body == latin1("hello"))
        #expect(s.reusable == true, "the fresh connection goes back to the pool")
    }

    @Test func brokenSendOnAPooledConnectionRetriesToo() {
        var m = HTTP1ClientMachine(method: "GET", body: .none)
        var head: [UInt8] = []
        m.encodeHead(target: "/", headers: HTTPHeaders(), into: &head)
        m.connected(reused: true)
        do { let r = m.sendFailed("send: Broken pipe"); #expect(r == .retryOnFreshConnection) }
        m.connected(reused: false)
        do { let r = m.sendFailed("send: Broken pipe"); #expect(r == .fail(.reset("send: Broken pipe"))) }
    }

    @Test func noRetryWhenTheRequestCannotBeReplayed() {
        var fresh = Shell(reused: false)
        fresh.eof()
        #expect(fresh.failure == .reset("connection closed before a response"), "a fresh connection is not the idle race")

        var open = Shell(requestBody: .streamed, reused: true)
        open.eof()
        #expect(open.failure == .reset("connection closed before a response"), "the body is not all here yet")

        var big = HTTP1ClientMachine(method: "POST", body: .known(70_000))
        var head: [UInt8] = []
        big.encodeHead(target: "/", headers: HTTPHeaders(), into: &head)
        big.connected(reused: true)
        var scratch: [UInt8] = []
        _ = big.frameBody(count: 70_000, chunkHeader: &scratch)
        #expect(big.keepsReplayCopy == false, "over 64 KiB the shell drops its copy")
        _ = big.endBody()
        big.receivedEOF()
        let action = [UInt8]().withUnsafeBytes { big.readResponse($0) }
        #expect(action == .fail(.reset("connection closed before a response")))
    }

    // MARK: Connect deadline

    @Test func connectTimesOutAtTheDeadlineNotBefore() {
        var m = HTTP1ClientMachine(method: "GET", body: .none)
        let deadline = m.startConnecting(now: 1_000, timeoutNs: 5_000)
        #expect(deadline == 6_000)
        do { let r = m.startConnecting(now: 3_000, timeoutNs: 5_000); #expect(r == 6_000, "a lookup then a connect share one deadline") }
        do { let r = m.deadlineReached(now: 5_999); #expect(r == .none) }
        #expect(!m.isFinished)
        do { let r = m.deadlineReached(now: 6_000); #expect(r == .fail(.connectTimeout)) }
        #expect(m.isFinished)
    }

    @Test func connectedBeforeTheDeadlineNeverTimesOut() {
        var m = HTTP1ClientMachine(method: "GET", body: .none)
        _ = m.startConnecting(now: 0, timeoutNs: 100)
        m.connected(reused: false)
        #expect(m.connectDeadline == nil)
        do { let r = m.deadlineReached(now: 1_000_000); #expect(r == .none) }
        #expect(m.canSend)
    }

    @Test func cancelEndsTheExchangeQuietly() {
        var s = Shell()
        s.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
        s.m.cancel()
        s.feed("cdefghij")
        #expect(s.body == Array("ab".utf8), "nothing is delivered after a cancel")
        #expect(s.outcome == nil)
        do { let r = s.m.resumeReading(); #expect(!r) }
    }
}
