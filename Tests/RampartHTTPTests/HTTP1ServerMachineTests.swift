import Testing
import RampartHTTP

/// Drives an `HTTP1ServerMachine` the way the connection's shell does, with bytes and a clock
/// that moves only when told to: no sockets, no sleeping.
final class ServerWire {
    var machine: HTTP1ServerMachine
    var buffer: [UInt8] = []
    var now: UInt64 = 5_000_000_000
    var heads: [HTTPRequestHead] = []
    var body: [UInt8] = []
    var tunnel: [UInt8] = []
    var bodiesEnded = 0
    var rejected: HTTPParseError?

    static let second: UInt64 = 1_000_000_000

    init(headerTimeout: UInt64 = 10, bodyTimeout: UInt64 = 30, keepalive: UInt64 = 60) {
        let settings = HTTP1ServerMachine.Settings(limits: HTTPLimits(), headerTimeoutNs: headerTimeout * Self.second,
                                                   bodyTimeoutNs: bodyTimeout * Self.second,
                                                   keepaliveTimeoutNs: keepalive * Self.second)
        machine = HTTP1ServerMachine(settings: settings, now: now)
    }

    func receive(_ s: String) {
        buffer += latin1(s)
        run()
    }

    /// Performs read actions until the machine needs more, as the shell's `process` does.
    func run() {
        while true {
            let bytes = buffer
            let now = self.now
            let action = bytes.withUnsafeBytes { machine.read($0, now: now) }
            switch action {
            case .needMore: return
            case .head(let head, let consumed):
                heads.append(head); buffer.removeFirst(consumed)
            case .body(let range, let last):
                body += buffer[range]; buffer.removeFirst(range.upperBound)
                if last { bodiesEnded += 1 }
            case .tunnel(let range):
                tunnel += buffer[range]; buffer.removeFirst(range.upperBound)
            case .rejectHead(let e), .rejectBody(let e):
                rejected = e; return
            }
        }
    }

    /// Starts a response; its declared body counts as sent (as the shell's `sendBody` would), so
    /// `end()` ends a complete response.
    func respond(status: Int = 200, headers: [(String, String)] = [("Content-Length", "2")],
                          shuttingDown: Bool = false) -> HTTPResponseHead? {
        var head = HTTPResponseHead(status: status, headers: HTTPHeaders(headers.map { HTTPField(name: $0.0, value: $0.1) }))
        guard machine.responseHead(&head, shuttingDown: shuttingDown) else { return nil }
        _ = machine.admitBody(machine.bodyRemaining)
        return head
    }

    func end() -> HTTP1ServerMachine.EndAction {
        machine.endResponse(buffered: buffer.count, now: now)
    }

    func advance(seconds: UInt64) -> HTTP1ServerMachine.DeadlineAction {
        now += seconds * Self.second
        return machine.deadlineReached(now: now, buffered: buffer.count)
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

@Suite("HTTP/1.1 server connection state machine")
struct HTTP1ServerMachineTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() {
        let wire = ServerWire()
        wire.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        // The second head waits in the buffer until the first response ends.
        #expect(wire.heads.map(\.path) == ["/a"])
        #expect(wire.machine.state == .awaitingResponse)
        #expect(wire.respond() != nil)
        #expect(wire.end() == .nextRequest)
        #expect(wire.machine.deadline == .head)   // bytes are waiting: the head timeout, not keep-alive's
        wire.run()
        #expect(wire.heads.map(\.path) == ["/a", "/b"])
    }

    @Test func aBadSecondHeadOnAKeptAliveConnectionGetsItsOwnError() {
        let wire = ServerWire()
        wire.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = wire.respond()
        #expect(wire.end() == .nextRequest)
        wire.receive("GET /b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(wire.rejected?.status == 400)
        let replies = wire.machine.beginLocalReplyAndClose()
        #expect(replies, "the 400 is sent, not a bare close")
        #expect(wire.respond(status: 400)?.headers["Connection"] == "close")
    }

    @Test func pipelinedBytesStopTheReadingAtTheLimit() {
        let wire = ServerWire()
        wire.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(wire.machine.wantsToRead(buffered: 1000))
        #expect(!wire.machine.wantsToRead(buffered: wire.machine.settings.maxPipelinedBytes))
    }

    @Test func contentLengthBodyArrivesInPiecesAndEndsOnce() {
        let wire = ServerWire()
        wire.receive("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello")
        #expect(wire.machine.state == .readingBody)
        #expect(wire.bodyText == "hello" && wire.bodiesEnded == 0)
        wire.receive(" worldGET /next HTTP/1.1\r\n\r\n")
        #expect(wire.bodyText == "hello world" && wire.bodiesEnded == 1)
        #expect(wire.heads.count == 1)   // the pipelined head is not the body's
        #expect(String(decoding: wire.buffer, as: UTF8.self).hasPrefix("GET /next"))
    }

    @Test func chunkedBodySplitAtEveryByteGivesTheSamePayload() {
        let message = "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
        let wire = ServerWire()
        for c in message { wire.receive(String(c)) }
        #expect(wire.rejected == nil)
        #expect(wire.bodyText == "hello world")
        #expect(wire.bodiesEnded == 1)
        #expect(wire.machine.state == .awaitingResponse)
    }

    @Test func uploadBackpressurePausesAndResumesTheBody() {
        let wire = ServerWire()
        wire.receive("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nabcd")
        wire.machine.pauseReading()
        #expect(!wire.machine.wantsToRead(buffered: 0))
        wire.receive("efgh")
        #expect(wire.bodyText == "abcd")        // held while paused
        let r1 = wire.machine.resumeReading()
        #expect(r1)
        let r2 = wire.machine.resumeReading()
        #expect(!r2)  // resuming twice does nothing
        wire.run()
        #expect(wire.bodyText == "abcdefgh" && wire.bodiesEnded == 1)
    }

    @Test func downloadBackpressureFollowsTheWatermarks() {
        let wire = ServerWire()
        wire.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(wire.respond(headers: []) != nil)
        let high = wire.machine.settings.highWatermark, low = wire.machine.settings.lowWatermark
        let r3 = wire.machine.bodyQueued(buffered: high - 1)
        #expect(r3)
        let r4 = wire.machine.bodyQueued(buffered: high)
        #expect(!r4)      // a slow client pauses the producer
        let r5 = wire.machine.flushed(buffered: low + 1)
        #expect(!r5)
        let r6 = wire.machine.flushed(buffered: low)
        #expect(r6)           // drained: the producer goes on
        let r7 = wire.machine.flushed(buffered: 0)
        #expect(!r7)            // and is told once
    }

    @Test func earlyAnswerLingersToDiscardTheUnreadBody() {
        let wire = ServerWire()
        wire.receive("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        let head = wire.respond(status: 413)
        #expect(head?.headers["Connection"] == "close")   // the unread body makes the connection unusable
        #expect(wire.end() == .close)
        #expect(wire.machine.closeAfterFlush)
        let r8 = wire.machine.written(buffered: 0, now: wire.now)
        #expect(r8 == .linger)
        #expect(wire.machine.state == .lingering && wire.machine.deadline == .linger)
        #expect(wire.advance(seconds: 1) == .rearm)
        #expect(wire.advance(seconds: 1) == .close)
    }

    @Test func drainedIdleConnectionClosesWithoutLingering() {
        let wire = ServerWire()
        wire.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = wire.respond()
        #expect(wire.end() == .nextRequest)
        let drained = wire.machine.drain(buffered: 0, writePending: true)
        #expect(drained == .closeAfterFlush)
        let written = wire.machine.written(buffered: 0, now: wire.now)
        #expect(written == .close)             // nothing unread: no half-close dance
    }

    @Test func partialHeadTimesOutWith408AndSilenceJustCloses() {
        let wire = ServerWire(headerTimeout: 10)
        wire.receive("GET / HTTP/1.1\r\nHost:")
        #expect(wire.advance(seconds: 9) == .rearm)
        #expect(wire.advance(seconds: 1) == .headTimedOut)

        let idle = ServerWire(headerTimeout: 10)
        #expect(idle.advance(seconds: 10) == .close)      // nothing sent: no 408, just close
    }

    @Test func slowBodyTimesOutAndProgressMovesTheDeadline() {
        let wire = ServerWire(bodyTimeout: 30)
        wire.receive("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        #expect(wire.advance(seconds: 20) == .rearm)
        wire.receive("abc")                                // progress: 30 s more from here
        #expect(wire.machine.deadlineAt == wire.now + 30 * ServerWire.second)
        #expect(wire.advance(seconds: 29) == .rearm)
        #expect(wire.advance(seconds: 1) == .bodyTimedOut)
    }

    @Test func idleKeepAliveConnectionCloses() {
        let wire = ServerWire(keepalive: 60)
        wire.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = wire.respond()
        #expect(wire.end() == .nextRequest)
        #expect(wire.machine.deadline == .idle)
        #expect(wire.advance(seconds: 60) == .close)
    }

    @Test func http10ResponseWithoutLengthIsCloseDelimited() {
        let wire = ServerWire()
        wire.receive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let head = wire.respond(headers: [])
        #expect(wire.machine.responseFraming == .closeDelimited)
        #expect(head?.headers["Connection"] == "close")
        #expect(head?.headers["Transfer-Encoding"] == nil)
        #expect(wire.end() == .close)
    }

    @Test func http11ResponseWithoutLengthIsChunked() {
        let wire = ServerWire()
        wire.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = wire.respond(headers: [])
        #expect(head?.headers["Transfer-Encoding"] == "chunked")
        #expect(wire.machine.responseFraming == .chunked)
    }

    @Test func headAnd304CarryNoBody() {
        let wire = ServerWire()
        wire.receive("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = wire.respond(headers: [])
        #expect(wire.machine.responseFraming == .none)
        let notModified = ServerWire()
        notModified.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = notModified.respond(status: 304, headers: [("Transfer-Encoding", "chunked")])
        #expect(head?.headers["Transfer-Encoding"] == nil)
    }

    @Test func drainingClosesIdleConnectionsAndAsksBusyOnesToReconnect() {
        let fresh = ServerWire()
        let r10 = fresh.machine.drain(buffered: 0, writePending: false)
        #expect(r10 == .none)   // accepted: gets its one request
        #expect(fresh.machine.wantsToRead(buffered: 0))

        let served = ServerWire()
        served.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = served.respond()
        _ = served.end()
        let r11 = served.machine.drain(buffered: 0, writePending: true)
        #expect(r11 == .closeAfterFlush)

        let busy = ServerWire()
        busy.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        let r12 = busy.machine.drain(buffered: 0, writePending: false)
        #expect(r12 == .none)
        #expect(busy.respond()?.headers["Connection"] == "close")
        #expect(busy.end() == .close)

        let shutdown = ServerWire()
        shutdown.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(shutdown.respond(shuttingDown: true)?.headers["Connection"] == "close")
    }

    @Test func malformedHeadAndChunkAreRejected() {
        let wire = ServerWire()
        wire.receive("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(wire.rejected?.status == 400)
        #expect(wire.heads.isEmpty)

        let chunk = ServerWire()
        chunk.receive("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        #expect(chunk.rejected?.status == 400)
        let r13 = chunk.machine.beginLocalReplyAndClose()
        #expect(r13)
        #expect(chunk.respond(status: 400)?.headers["Connection"] == "close")
    }

    @Test func abortedResponseNeverEndsCleanly() {
        let wire = ServerWire()
        wire.receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = wire.respond(headers: [])
        let r14 = wire.machine.abortResponse()
        #expect(r14)
        #expect(!wire.machine.canSendBody)
        #expect(wire.end() == .ignored)       // no terminating chunk after an abort
        #expect(wire.machine.closeAfterFlush)
        let r15 = wire.machine.beginLocalReplyAndClose()
        #expect(!r15)
    }

    @Test func continueIsDueOnlyBeforeTheBodyStarts() {
        let wire = ServerWire()
        wire.receive("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        #expect(wire.machine.continueDue(buffered: 0))
        #expect(!wire.machine.continueDue(buffered: 1))
        wire.receive("abc")
        #expect(!wire.machine.continueDue(buffered: 0))
    }

    @Test func switchingProtocolsOpensATunnel() {
        let wire = ServerWire()
        wire.receive("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        #expect(wire.respond(status: 101, headers: [("Upgrade", "websocket"), ("Connection", "Upgrade")]) != nil)
        #expect(wire.machine.state == .tunnel)
        wire.receive("\u{81}\u{02}hi")
        #expect(wire.tunnel == latin1("\u{81}\u{02}hi"))
        #expect(wire.heads.count == 1)        // tunnel bytes are never parsed as HTTP
    }
}
