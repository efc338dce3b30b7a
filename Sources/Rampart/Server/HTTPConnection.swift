import CLinux
import Glibc
import RampartHTTP

/// One client connection: strict HTTP/1.1 framing, keep-alive, pipelining (answered in order:
/// the next head is parsed only when the current response ended), and flow control both ways.
public final class HTTPConnection: EventHandler, DeferredFlush {
    public let fd: Int32
    public let loop: EventLoop
    public let peerIP: [UInt8]
    public let peerText: String
    let tls: TLSSession?
    public var isTLS: Bool { tls != nil }
    let context: ServerContext
    private let service: RequestService
    private let limits: LimitsConfig

    enum State { case awaitingHead, readingBody, awaitingResponse, lingering, closed }
    enum ResponseFraming { case none, identity, chunked, closeDelimited }

    var state = State.awaitingHead
    let readBuffer = ByteBuffer(capacity: 16 * 1024)
    let writeBuffer = ByteBuffer(capacity: 16 * 1024)
    /// Serialization scratch for heads and chunk headers (ByteBuffer takes bytes, not inout arrays).
    private var scratch = [UInt8]()
    var interest: UInt32 = 0
    var flushScheduled = false

    var exchange: ServerExchange?
    var request: HTTPRequestHead?
    private var bodyRemaining = 0
    private var chunked: ChunkedDecoder?
    private var readingPaused = false
    var waitingForWritable = false

    private var responseStarted = false
    private var responseEnded = false
    private var responseFraming = ResponseFraming.none
    var keepAlive = true
    var closeAfterFlush = false
    var draining = false
    /// A connection accepted but not yet asked anything still gets its one request during a drain.
    var hasServedARequest = false

    /// One deadline at a time (the states never need two) on one reusable timer. Moving the
    /// deadline later only updates a field; the timer fires early and re-arms itself.
    enum Deadline { case none, head, idle, body, linger }
    var deadlineKind = Deadline.none
    var deadlineAt: UInt64 = 0
    // unowned(unsafe): the connection disarms the timer in close(), and it is retained by its
    // ServerContext until then, so the timer never outlives it (and no weak side table is made).
    lazy var timer: LoopTimer = loop.makeTimer { [unowned(unsafe) self] in self.deadlineReached() }

    /// Bytes in the send buffer above which producers are asked to pause (backpressure).
    static let highWatermark = 256 * 1024
    static let lowWatermark = 64 * 1024
    /// Pipelined bytes we accept while a response is pending before we stop reading.
    static let maxPipelinedBytes = 64 * 1024

    /// A connection of the main listener (counted in `max_connections` and the drain), not admin.
    let clientFacing: Bool

    init(fd: Int32, peerIP: [UInt8], peerText: String, loop: EventLoop, context: ServerContext,
         service: RequestService, limits: LimitsConfig, tls: TLSSession? = nil, clientFacing: Bool = true) {
        self.fd = fd; self.peerIP = peerIP; self.peerText = peerText; self.loop = loop; self.tls = tls
        self.context = context; self.service = service; self.limits = limits; self.clientFacing = clientFacing
    }

    func start() {
        interest = Epoll.input | Epoll.readHangup
        loop.register(fd: fd, events: interest, handler: self)
        context.connectionOpened(self)
        setDeadline(.head, afterMs: limits.headerTimeoutMs)
    }

    // MARK: Readiness

    public func handleEvents(_ events: UInt32) {
        if events & Epoll.output != 0 { flush() }
        guard state != .closed else { return }
        if events & (Epoll.input | Epoll.readHangup | Epoll.hangup | Epoll.error) != 0 { readAvailable() }
    }

    func readAvailable() {
        if state == .lingering { discardForLinger(); return }
        var sawEOF = false
        // Read while the state machine wants bytes; bounded so one client cannot starve the loop.
        for _ in 0..<(tls == nil ? 4 : 16) {
            if !wantsToRead { break }
            let room = 64 * 1024
            readBuffer.reserveWritable(room)
            let n: Int
            if let tls {
                // TLS records are at most 16 KiB: keep reading until OpenSSL would block.
                switch tls.read(into: readBuffer.writableTail, count: readBuffer.writableCount) {
                case .bytes(let k): n = k
                case .wouldBlock: n = -1
                case .closed: sawEOF = true; n = -1
                }
                if n > 0 { readBuffer.didWrite(n); context.metrics.bytesIn(n); continue }
                break
            }
            n = Glibc.read(fd, readBuffer.writableTail, readBuffer.writableCount)
            if n > 0 {
                readBuffer.didWrite(n)
                context.metrics.bytesIn(n)
            } else {
                if n == 0 { sawEOF = true }
                else if errno != EAGAIN && errno != EINTR { sawEOF = true }
                break
            }
            if n < room { break }
        }
        process()
        if sawEOF && state != .closed { peerClosed() }
        else if state != .closed && !wantsToRead {
            // Not reading: a hangup must still be noticed (level-triggered RDHUP keeps firing otherwise).
            var probe: UInt8 = 0
            let r = recv(fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if r == 0 { peerClosed() }
        }
        updateInterest()
    }

    var wantsToRead: Bool {
        switch state {
        case .awaitingHead: return !draining || !readBuffer.isEmpty || !hasServedARequest
        case .readingBody: return !readingPaused
        case .awaitingResponse: return readBuffer.readableCount < Self.maxPipelinedBytes
        case .lingering: return true
        case .closed: return false
        }
    }

    var closedByPeer = false

    private func peerClosed() {
        closedByPeer = true
        if state == .awaitingHead && readBuffer.isEmpty { close(); return }
        let ex = exchange
        exchange = nil
        close()
        ex?.connectionClosed()
    }

    // MARK: Request side

    /// Runs the request state machine over buffered bytes until it needs more or must wait.
    private func process() {
        while state != .closed {
            switch state {
            case .awaitingHead:
                if readBuffer.isEmpty { return }
                if deadlineKind != .head { setDeadline(.head, afterMs: limits.headerTimeoutMs) }
                let httpLimits = HTTPLimits(maxHeaderBytes: limits.headerBytes, maxURLBytes: limits.urlBytes)
                let result = HTTPRequestParser.parseHead(readBuffer.readable, limits: httpLimits)
                switch result {
                case .incomplete:
                    return
                case .failure(let e):
                    context.metrics.parseError()
                    respondAndClose(GatewayError(status: e.status, code: e.code, message: Self.sentence(e.message)))
                    return
                case .complete(let head, let consumed):
                    readBuffer.consume(consumed)
                    deadlineKind = .none
                    beginRequest(head)
                }
            case .readingBody:
                // Answered before the body was read (an early error): stop; the close discards it.
                guard exchange != nil, !responseEnded else { state = .awaitingResponse; return }
                if readingPaused || readBuffer.isEmpty { return }
                feedBody()
            case .awaitingResponse, .lingering, .closed:
                return
            }
        }
    }

    private func beginRequest(_ head: HTTPRequestHead) {
        request = head
        hasServedARequest = true
        keepAlive = head.keepAlive && !draining
        responseStarted = false; responseEnded = false; waitingForWritable = false; readingPaused = false
        switch head.framing {
        case .none: bodyRemaining = 0; chunked = nil
        case .contentLength(let n): bodyRemaining = n; chunked = nil
        case .chunked: bodyRemaining = 0; chunked = ChunkedDecoder()
        }
        let hasBody = chunked != nil || bodyRemaining > 0
        state = hasBody ? .readingBody : .awaitingResponse
        let ex = service.begin(head, on: self)
        // Answered on the spot (health check, early error): nothing to attach; an unread body is
        // discarded by the lingering close that follows.
        if state == .closed || responseEnded {
            if state == .readingBody { state = .awaitingResponse }
            return
        }
        exchange = ex
        if !hasBody { ex.requestBodyEnded() } else { setDeadline(.body, afterMs: limits.bodyTimeoutMs) }
    }

    private func feedBody() {
        guard let ex = exchange else { return }
        if var decoder = chunked {
            var failure: HTTPParseError?
            var finished = false
            var consumed = 0
            switch decoder.decode(readBuffer.readable, body: { ex.requestBody($0) }) {
            case .needMore(let c): consumed = c
            case .finished(let c): consumed = c; finished = true
            case .failure(let e): failure = e
            }
            chunked = decoder
            if let failure {
                exchange = nil
                ex.connectionClosed()
                respondAndClose(GatewayError(status: failure.status, code: failure.code, message: Self.sentence(failure.message)), force: true)
                return
            }
            readBuffer.consume(consumed)
            if finished { bodyComplete(ex) } else { setDeadline(.body, afterMs: limits.bodyTimeoutMs) }
        } else {
            let take = min(bodyRemaining, readBuffer.readableCount)
            ex.requestBody(UnsafeRawBufferPointer(rebasing: readBuffer.readable[0..<take]))
            readBuffer.consume(take)
            bodyRemaining -= take
            if bodyRemaining == 0 { bodyComplete(ex) } else { setDeadline(.body, afterMs: limits.bodyTimeoutMs) }
        }
    }

    private func bodyComplete(_ ex: ServerExchange) {
        deadlineKind = .none
        guard state == .readingBody else { return }
        state = .awaitingResponse
        ex.requestBodyEnded()
    }

    /// Upload backpressure: the exchange stops us reading while its upstream cannot take more.
    public func pauseReading() { readingPaused = true; updateInterest() }
    public func resumeReading() {
        guard readingPaused else { return }
        readingPaused = false
        loop.deferToEndOfIteration { [self] in
            guard self.state == .readingBody else { return }
            // Read as well as process: TLS may hold decrypted bytes that epoll cannot announce.
            if self.tls != nil { self.readAvailable() } else { self.process(); self.updateInterest() }
        }
    }

    /// Sends `100 Continue` when the client asked for it and the body has not started.
    public func sendContinueIfExpected() {
        guard let head = request, head.expectsContinue, state == .readingBody, !responseStarted,
              readBuffer.isEmpty else { return }
        writeBuffer.append(Self.continueLine)
        scheduleFlush()
    }
    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    // MARK: Response side

    public var requestHead: HTTPRequestHead? { request }
    public var hasStartedResponse: Bool { responseStarted }

    /// Sends the response head; chooses the framing from the head, the method and the client's version.
    public func sendHead(_ head: HTTPResponseHead) {
        guard state != .closed, !responseStarted else { return }
        responseStarted = true
        var head = head
        let isHead = request?.method == "HEAD"
        let noBody = isHead || head.status == 204 || head.status == 304 || (100..<200).contains(head.status)
        if noBody {
            responseFraming = .none
            if head.status == 204 || head.status == 304 { head.headers.remove("Transfer-Encoding") }
        } else if head.headers.contains("Content-Length") {
            responseFraming = .identity
        } else if (request?.versionMinor ?? 1) >= 1 {
            head.headers.add("Transfer-Encoding", "chunked")
            responseFraming = .chunked
        } else {
            responseFraming = .closeDelimited
            keepAlive = false
        }
        if state == .readingBody && !closeAfterFlush {
            // Answering before the body arrived (an early error): only safe if we stop reusing the connection.
            keepAlive = false
        }
        // From SIGTERM on, every response asks the client to reconnect, so keep-alive clients move
        // to other replicas while this one still accepts (Envoy's drain does the same).
        if draining || context.state.draining.load(ordering: .relaxed) { keepAlive = false }
        if !keepAlive { head.headers.set("Connection", "close") }
        else if request?.versionMinor == 0 { head.headers.set("Connection", "keep-alive") }
        head.versionMinor = 1
        scratch.removeAll(keepingCapacity: true)
        head.serialize(into: &scratch)
        writeBuffer.append(scratch)
        scheduleFlush()
    }

    /// Queues body bytes. Returns false when the client is slow: stop producing until `responseWritable`.
    @discardableResult
    public func sendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state != .closed, responseStarted, !responseEnded else { return false }
        if bytes.count > 0 {
            switch responseFraming {
            case .none: break
            case .identity, .closeDelimited: writeBuffer.append(bytes)
            case .chunked:
                scratch.removeAll(keepingCapacity: true)
                ChunkedEncoder.chunkHeader(size: bytes.count, into: &scratch)
                writeBuffer.append(scratch)
                writeBuffer.append(bytes)
                writeBuffer.append(ChunkedEncoder.chunkTrailer)
            }
            scheduleFlush()
        }
        if writeBuffer.readableCount >= Self.highWatermark { waitingForWritable = true; return false }
        return true
    }

    public func sendBody(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { sendBody($0) } }

    /// Ends the response cleanly; the connection then serves the next pipelined request or closes.
    public func endResponse() {
        guard state != .closed, responseStarted, !responseEnded else { return }
        responseEnded = true
        if responseFraming == .chunked { writeBuffer.append(ChunkedEncoder.lastChunk) }
        if responseFraming == .closeDelimited { keepAlive = false }
        exchange = nil
        if keepAlive && state == .awaitingResponse {
            state = .awaitingHead
            request = nil
            if readBuffer.isEmpty { setDeadline(.idle, afterMs: limits.keepaliveTimeoutMs) }
            else { setDeadline(.head, afterMs: limits.headerTimeoutMs) }
            scheduleFlush()
            if !readBuffer.isEmpty { loop.deferToEndOfIteration { [self] in processAfterResponse() } }
        } else {
            closeAfterFlush = true
            scheduleFlush()
        }
    }

    private func processAfterResponse() {
        guard state == .awaitingHead else { return }
        process(); updateInterest()
    }

    /// Ends a response that cannot be completed (upstream failed mid-body): the client must see a
    /// truncated message, never a clean end, so the connection closes without a terminating chunk.
    public func abortResponse() {
        guard state != .closed else { return }
        exchange = nil
        responseEnded = true
        keepAlive = false
        closeAfterFlush = true
        scheduleFlush()
    }

    /// Answers with Rampart's JSON error and closes (used for malformed requests and timeouts).
    func respondAndClose(_ error: GatewayError, force: Bool = false) {
        guard state != .closed else { return }
        if responseStarted { abortResponse(); return }
        keepAlive = false
        state = .awaitingResponse
        let requestID = RequestIDs.make()
        let (head, body) = LocalReply.error(error, requestID: requestID, headersConfig: context.currentConfig.headers, tls: isTLS)
        sendHead(head)
        _ = sendBody(body)
        endResponse()
        context.accessLog.logConnectionError(status: error.status, code: error.code, message: error.message, peer: peerText,
                                             requestID: requestID, bytesOut: body.count,
                                             head: request.map { ($0.method, $0.path, $0.query) })
        context.metrics.recordRequest(route: "-", status: error.status, seconds: 0)
    }

    /// The wire parser names a problem in a few words ("Multiple Host headers"); a client reads
    /// a sentence: "The request was refused: multiple Host headers."
    static func sentence(_ phrase: String) -> String {
        guard let first = phrase.first else { return "The request was refused." }
        let lowered = phrase.dropFirst().first?.isUppercase == true ? phrase : first.lowercased() + phrase.dropFirst()
        return "The request was refused: " + lowered + (phrase.hasSuffix(".") ? "" : ".")
    }
}
