import CLinux
import RampartLoop
import Glibc
import RampartHTTP

/// One client connection: the I/O shell of an `HTTP1ServerMachine`, which holds the protocol
/// state (framing, keep-alive, pipelining, deadlines, lingering close). The shell reads and writes
/// the socket, runs the one timer, and hands requests to its service and bytes to the exchange.
public final class HTTPConnection: EventHandler, DeferredFlush, ClientStream, ServedConnection {
    public let fd: Int32
    public let loop: EventLoop
    public let peerIP: [UInt8]
    public let peerText: String
    let tls: TLSSession?
    public var isTLS: Bool { tls != nil }
    let host: ConnectionHost
    private let service: RequestService

    /// The protocol state machine. Its methods never call back into the shell, so a mutating call
    /// can never overlap another access: no runtime exclusivity check (see `EventLoop`).
    @exclusivity(unchecked) var machine: HTTP1ServerMachine
    var state: HTTP1ServerMachine.State { machine.state }
    let readBuffer = ByteBuffer(capacity: 16 * 1024)
    let writeBuffer = ByteBuffer(capacity: 16 * 1024)
    /// Scratch for chunk headers (ByteBuffer takes bytes, not inout arrays).
    @exclusivity(unchecked) private var scratch = [UInt8]()
    /// Edge-triggered readiness, remembered between events: the socket may hold unread bytes (set
    /// by an input event, cleared when a read drains it), and the peer's FIN, a reset or an error
    /// has been announced (a short read is then not proof of a drained socket).
    @exclusivity(unchecked) var readReady = false
    @exclusivity(unchecked) var hangupSeen = false
    @exclusivity(unchecked) var flushScheduled = false
    @exclusivity(unchecked) var exchange: ServerExchange?
    @exclusivity(unchecked) var closedByPeer = false

    // unowned(unsafe): the connection disarms the timer in close(), and it is retained by its
    // ServerContext until then, so the timer never outlives it (and no weak side table is made).
    lazy var timer: LoopTimer = loop.makeTimer { [unowned(unsafe) self] in self.deadlineReached() }

    /// A connection of the main listener (counted in `max_connections` and the drain), not admin.
    public let clientFacing: Bool
    /// HTTP/2 may still take this connection over (ALPN `h2`, or the `h2c` preface); nil once it is
    /// HTTP/1.1 for good.
    @exclusivity(unchecked) private var http2: HTTP2Settings?

    package init(fd: Int32, peerIP: [UInt8], peerText: String, host: ConnectionHost, service: RequestService,
         settings: HTTP1ServerMachine.Settings, tls: TLSSession? = nil, clientFacing: Bool = true, http2: HTTP2Settings? = nil) {
        self.fd = fd; self.peerIP = peerIP; self.peerText = peerText; self.loop = host.loop; self.tls = tls
        self.host = host; self.service = service; self.clientFacing = clientFacing; self.http2 = http2
        machine = HTTP1ServerMachine(settings: settings, now: host.loop.now)
    }

    package func start() {
        loop.register(fd: fd, events: Epoll.input | Epoll.output | Epoll.readHangup | Epoll.edgeTriggered, handler: self)
        host.connectionOpened(self)
        syncTimer()
    }

    // MARK: Readiness

    public func handleEvents(_ events: UInt32) {
        // Output readiness, or input a TLS write was waiting for: retry what is queued.
        if !writeBuffer.isEmpty || tls?.readWantsWrite == true { flush() }
        guard state != .closed, events & Epoll.readable != 0 else { return }
        readReady = true
        if events & Epoll.hangupOrError != 0 { hangupSeen = true }
        readAvailable()
    }

    func readAvailable() {
        if state == .lingering { discardForLinger(); return }
        var sawEOF = false
        // Read while the state machine wants bytes; bounded so one client cannot starve the loop
        // (the rest is read at the end of this iteration: no new edge will announce it).
        var rounds = tls == nil ? 4 : 16
        while readReady && rounds > 0 && wantsToRead {
            rounds -= 1
            // A released buffer comes back at 16 KiB (a head, a TLS record); a body grows it to 64.
            readBuffer.reserveWritable(readBuffer.hasStorage ? 64 * 1024 : 16 * 1024)
            let room = readBuffer.writableCount
            let n: Int
            if let tls {
                // TLS records are at most 16 KiB: keep reading until OpenSSL would block.
                switch tls.read(into: readBuffer.writableTail, count: readBuffer.writableCount) {
                case .bytes(let k): n = k
                case .wouldBlock: n = -1; readReady = false
                case .closed: sawEOF = true; n = -1; readReady = false
                }
                if n > 0 { readBuffer.didWrite(n); host.bytesIn(n); continue }
                break
            }
            n = Glibc.read(fd, readBuffer.writableTail, room)
            if n > 0 {
                readBuffer.didWrite(n)
                host.bytesIn(n)
                // A short read emptied the socket, unless a FIN is pending behind the bytes.
                if n < room && !hangupSeen { readReady = false; break }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            readReady = false
            if n == 0 || errno != EAGAIN { sawEOF = true }
            break
        }
        if let h2 = http2, !readBuffer.isEmpty {
            switch HTTP2Preface.choose(tls: tls, buffered: readBuffer.readable) {
            case .http2: handOver(to: h2); return
            case .undecided: if !sawEOF { return }
            case .http1: http2 = nil
            }
        }
        process()
        if sawEOF && state != .closed { peerClosed(); return }
        guard state != .closed else { return }
        // The request is read and the response (an SSE stream, say) may run for minutes: its
        // read buffer goes back meanwhile.
        if readBuffer.isEmpty && !wantsToRead { readBuffer.release() }
        if readReady && wantsToRead {
            loop.deferToEndOfIteration { [self] in if state != .closed { readAvailable() } }
        } else if hangupSeen && !wantsToRead {
            // Not reading, and the client half-closed or reset: gone, unless bytes still wait.
            var probe: UInt8 = 0
            let r = recv(fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) { peerClosed() }
        }
    }

    var wantsToRead: Bool { machine.wantsToRead(buffered: readBuffer.readableCount) }

    /// The client speaks HTTP/2: an `HTTP2Connection` takes the socket, its TLS session and the
    /// bytes read so far; this shell steps aside without closing anything.
    private func handOver(to settings: HTTP2Settings) {
        loop.unregister(fd: fd)
        loop.disarm(timer)
        machine.closed()
        host.connectionClosed(self)
        let h2 = HTTP2Connection(fd: fd, peerIP: peerIP, peerText: peerText, host: host, service: service, settings: settings,
                                 timeouts: machine.settings, tls: tls)
        h2.start(initial: readBuffer.readable)
        readBuffer.consume(readBuffer.readableCount)
        readBuffer.release()
    }

    private func peerClosed() {
        closedByPeer = true
        if state == .awaitingHead && readBuffer.isEmpty { close(); return }
        let ex = exchange
        exchange = nil
        close()
        ex?.connectionClosed()
    }

    // MARK: Request side

    /// Performs the machine's read actions over the buffered bytes until it needs more or must wait.
    private func process() {
        while state != .closed {
            let action = machine.read(readBuffer.readable, now: loop.now)
            switch action {
            case .needMore:
                syncTimer()
                return
            case .head(let head, let consumed):
                readBuffer.consume(consumed)
                syncTimer()
                beginRequest(head)
            case .body(let range, let last):
                guard let ex = exchange else { readBuffer.consume(range.upperBound); continue }
                if !range.isEmpty { ex.requestBody(UnsafeRawBufferPointer(rebasing: readBuffer.readable[range])) }
                readBuffer.consume(range.upperBound)
                // The exchange may have answered meanwhile (413): then it no longer hears of the body.
                if last, exchange === ex { ex.requestBodyEnded() }
            case .tunnel(let range):
                if let ex = exchange { ex.requestBody(UnsafeRawBufferPointer(rebasing: readBuffer.readable[range])) }
                readBuffer.consume(range.upperBound)
            case .rejectHead(let e):
                respondAndClose(.malformed(e))
                return
            case .rejectBody(let e):
                let ex = exchange
                exchange = nil
                ex?.connectionClosed()
                respondAndClose(.malformed(e))
                return
            }
        }
    }

    private func beginRequest(_ head: HTTPRequestHead) {
        let ex = service.begin(head, on: self)
        // Answered on the spot (health check, early error): nothing to attach; an unread body is
        // discarded by the lingering close that follows.
        if state == .closed || machine.responseEnded { return }
        exchange = ex
        if state != .readingBody { ex.requestBodyEnded() }
    }

    /// Upload backpressure: the exchange stops us reading while its upstream cannot take more.
    public func pauseRequestBody() { machine.pauseReading() }
    public func resumeRequestBody() {
        guard machine.resumeReading() else { return }
        loop.deferToEndOfIteration { [self] in
            guard self.state == .readingBody || self.state == .tunnel else { return }
            // Read as well as process: the socket (or TLS) may hold bytes no new edge will announce.
            if self.tls != nil { self.readReady = true }
            self.readAvailable()
        }
    }

    /// Sends `100 Continue` when the client asked for it and the body has not started.
    public func sendContinueIfExpected() {
        guard machine.continueDue(buffered: readBuffer.readableCount) else { return }
        writeBuffer.append(Self.continueLine)
        scheduleFlush()
    }
    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    // MARK: Response side

    public var requestHead: HTTPRequestHead? { machine.request }
    public var hasStartedResponse: Bool { machine.responseStarted }

    /// Sends the response head, framed as the machine decides (from SIGTERM on, every response
    /// asks the client to reconnect, so keep-alive clients move to other replicas).
    public func sendHead(_ head: HTTPResponseHead) {
        var head = head
        guard machine.responseHead(&head, shuttingDown: host.isShuttingDown) else { return }
        let bound = head.serializedSizeBound
        writeBuffer.reserveWritable(bound)
        writeBuffer.didWrite(head.serialize(to: writeBuffer.writableTail.assumingMemoryBound(to: UInt8.self)))
        scheduleFlush()
        // A switch to a tunnel (WebSocket): bytes the client sent behind its handshake are the
        // tunnel's first; no new edge will announce them.
        if state == .tunnel {
            loop.deferToEndOfIteration { [self] in if state == .tunnel { readAvailable() } }
        }
    }

    /// A proxied head, written in one pass from the upstream's fields and the hop's additions.
    public var acceptsForwardedHead: Bool { true }

    public func sendForwardedHead(_ head: consuming ForwardedResponseHead) {
        guard let edits = machine.forwardedHead(status: head.status, fields: head.framingFields, shuttingDown: host.isShuttingDown) else { return }
        writeBuffer.reserveWritable(head.serializedSizeBound)
        writeBuffer.didWrite(head.serialize(to: writeBuffer.writableTail.assumingMemoryBound(to: UInt8.self), edits: edits))
        scheduleFlush()
    }

    /// Queues body bytes; `.pause` when the client is slow: stop producing until `resumeResponse`.
    @discardableResult
    public func sendBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        guard machine.canSendBody else { return .pause }
        // The machine says how much of it the response's framing admits (none on a 204, never
        // past a declared length).
        let n = bytes.isEmpty ? 0 : machine.admitBody(bytes.count)
        if n > 0 {
            let bytes = UnsafeRawBufferPointer(rebasing: bytes[0..<n])
            switch machine.responseFraming {
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
        return machine.bodyQueued(buffered: writeBuffer.readableCount) ? .proceed : .pause
    }

    /// Ends the response cleanly; the connection then serves the next pipelined request or closes.
    public func endResponse() {
        guard machine.canSendBody else { return }
        if machine.responseFraming == .chunked { writeBuffer.append(ChunkedEncoder.lastChunk) }
        let end = machine.endResponse(buffered: readBuffer.readableCount, now: loop.now)
        exchange = nil
        syncTimer()
        scheduleFlush()
        if end == .nextRequest && (!readBuffer.isEmpty || readReady) {
            loop.deferToEndOfIteration { [self] in processAfterResponse() }
        }
    }

    /// A pipelined request (buffered, or announced while the last response was being made).
    private func processAfterResponse() {
        guard state == .awaitingHead else { return }
        readAvailable()
    }

    /// Ends a response that cannot be completed (upstream failed mid-body): the client must see a
    /// truncated message, never a clean end, so the connection closes without a terminating chunk.
    public func abortResponse() {
        exchange = nil
        if machine.abortResponse() { scheduleFlush() }
    }

    /// Answers with the host's error reply and closes (malformed requests, timeouts).
    func respondAndClose(_ error: ConnectionError) {
        guard machine.beginLocalReplyAndClose() else { exchange = nil; scheduleFlush(); return }
        let (head, body) = host.localReply(for: error, request: machine.request, on: self)
        sendHead(head)
        _ = sendBody(body)
        endResponse()
    }
}
