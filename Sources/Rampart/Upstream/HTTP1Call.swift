import CLinux
import Glibc
import RampartHTTP

/// One request/response over an `UpstreamSocket`: writes the head and streams the body (chunked
/// when its length is unknown), parses the response strictly and streams its body back with
/// backpressure. A pooled connection that turns out to be dead before any response byte is
/// retried once on a fresh one when the whole request is still at hand (the race every
/// keep-alive client has with the server's idle timeout).
final class HTTP1Call: UpstreamCall, DeferredFlush {
    private unowned let transport: HTTP1Transport
    private let request: UpstreamRequest
    private var handler: UpstreamResponseHandler?
    /// `host:port` as configured.
    private let name: String
    /// The pool key: `name` for an IP address; `name#generation` for a host name, so a changed
    /// DNS answer stops the reuse of connections to the old addresses.
    private var key: String
    /// The numeric address when the host is one; nil for a host name (`HostCache` resolves it).
    private let numeric: SocketAddressBytes?
    private var socket: UpstreamSocket?
    private var selfRetain: HTTP1Call?

    private let out = ByteBuffer(capacity: 4096)
    private let input = ByteBuffer(capacity: 16 * 1024)
    /// The request bytes so far, kept while small enough to replay on a fresh connection.
    private var replay: [UInt8]? = []
    private var connecting = false
    private var connectTimer: LoopTimer?
    private var flushScheduled = false
    private var bodyEnded: Bool
    private var uploadBlocked = false
    private let chunkedUpload: Bool
    private var scratch: [UInt8] = []

    private var headDone = false
    private var framing = ResponseFraming.none
    private var keepAlive = false
    private var remaining = 0
    private var chunkDecoder = ChunkedDecoder()
    private var receivedAny = false
    private var readPaused = false
    private var retried = false
    private var finished = false

    static let replayLimit = 64 * 1024
    static let deliverSlice = 64 * 1024
    static let uploadHighWatermark = 256 * 1024

    init(transport: HTTP1Transport, request: UpstreamRequest, handler: UpstreamResponseHandler) {
        self.transport = transport; self.request = request; self.handler = handler
        name = request.upstream.endpoint
        key = name
        numeric = request.upstream.numericAddress
        bodyEnded = request.body == .none
        chunkedUpload = request.body == .streamed
        selfRetain = self
    }

    func begin() {
        writeHead()
        if numeric != nil { attach(transport.takeIdle(key)); return }
        switch transport.lookup(name, host: request.upstream.host, port: request.upstream.port, for: self) {
        case .ready(let poolKey, _): hostReady(poolKey: poolKey)
        case .wait: connecting = true; armConnectTimer()   // the connect timeout covers the lookup
        case .failed(let error): transport.loop.deferToEndOfIteration { [self] in fail(.connectFailed(error)) }
        }
    }

    /// The host name has addresses (at once, or after a lookup this call waited for).
    func hostReady(poolKey: String) {
        guard !finished else { return }
        key = poolKey
        attach(transport.takeIdle(key))
    }

    /// The host name did not resolve.
    func hostFailed(_ error: String) {
        fail(.connectFailed(error))
    }

    private func writeHead() {
        var h = scratch
        h.removeAll(keepingCapacity: true)
        h.appendUTF8(request.method); h.append(0x20)
        h.appendUTF8(request.target)
        h.append(contentsOf: " HTTP/1.1\r\n".utf8)
        for f in request.headers.fields {
            h.appendUTF8(f.name); h.append(0x3A); h.append(0x20)
            h.appendUTF8(f.value); h.append(0x0D); h.append(0x0A)
        }
        switch request.body {
        case .none: break
        case .known(let n): h.append(contentsOf: "Content-Length: \(n)\r\n".utf8)
        case .streamed: h.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
        }
        h.append(0x0D); h.append(0x0A)
        queue(h)
        scratch = h
    }

    /// Uses a pooled connection, or opens a new one.
    private func attach(_ pooled: UpstreamSocket?) {
        if let pooled {
            socket = pooled
            pooled.reused = true
            pooled.owner = self
            connecting = false   // a call that waited for a lookup may find a pooled connection after all
            transport.loop.cancel(connectTimer); connectTimer = nil
            pooled.setInterest(read: true, write: !out.isEmpty)
            scheduleFlush()
            return
        }
        guard let address = numeric ?? transport.nextAddress(name) else {
            transport.loop.deferToEndOfIteration { [self] in fail(.connectFailed("\(name): no address")) }
            return
        }
        guard let s = UpstreamSocket.connect(to: address, loop: transport.loop) else {
            let e = errno
            transport.loop.deferToEndOfIteration { [self] in fail(.connectFailed(String(cString: strerror(e)))) }
            return
        }
        socket = s
        s.owner = self
        connecting = true
        armConnectTimer()
    }

    private func armConnectTimer() {
        guard connectTimer == nil else { return }
        connectTimer = transport.loop.schedule(afterMs: request.connectTimeoutMs) { [self] in
            connectTimer = nil
            fail(.connectTimeout)
        }
    }

    // MARK: Request body

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !finished, bytes.count > 0 else { return true }
        if chunkedUpload {
            scratch.removeAll(keepingCapacity: true)
            ChunkedEncoder.chunkHeader(size: bytes.count, into: &scratch)
            queue(scratch)
            queue(bytes)
            queue(ChunkedEncoder.chunkTrailer)
        } else {
            queue(bytes)
        }
        scheduleFlush()
        if out.readableCount >= Self.uploadHighWatermark { uploadBlocked = true; return false }
        return true
    }

    func endBody() {
        guard !finished, !bodyEnded else { return }
        bodyEnded = true
        if chunkedUpload { queue(ChunkedEncoder.lastChunk) }
        scheduleFlush()
    }

    private func queue(_ bytes: [UInt8]) { bytes.withUnsafeBytes { queue($0) } }
    private func queue(_ bytes: UnsafeRawBufferPointer) {
        out.append(bytes)
        if replay != nil {
            if replay!.count + bytes.count > Self.replayLimit { replay = nil } else { replay!.append(contentsOf: bytes) }
        }
    }

    private func scheduleFlush() {
        guard !flushScheduled, !connecting, socket != nil else { return }
        flushScheduled = true
        transport.loop.scheduleFlush(self)
    }

    func flushDeferred() { flush() }

    private func flush() {
        flushScheduled = false
        guard !finished, let socket, !connecting else { return }
        while !out.isEmpty {
            let n = Glibc.send(socket.fd, out.readable.baseAddress!, out.readableCount, Int32(MSG_NOSIGNAL))
            if n > 0 { out.consume(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            connectionBroke("send: \(String(cString: strerror(errno)))"); return
        }
        socket.setInterest(read: !readPaused, write: !out.isEmpty)
        if uploadBlocked && out.readableCount < Self.uploadHighWatermark / 2 {
            uploadBlocked = false
            handler?.upstreamWantsBody()
        }
    }

    // MARK: Readiness

    func socketReady(_ events: UInt32) {
        guard !finished, let socket else { return }
        if connecting {
            guard events & (Epoll.output | Epoll.error | Epoll.hangup) != 0 else { return }
            let err = socket.connectError
            if err != 0 { fail(.connectFailed(String(cString: strerror(err)))); return }
            connecting = false
            transport.loop.cancel(connectTimer); connectTimer = nil
            flush()
            return
        }
        if events & Epoll.output != 0 { flush() }
        if finished { return }
        if events & (Epoll.input | Epoll.hangup | Epoll.error | Epoll.readHangup) != 0 && !readPaused { readResponse() }
    }

    private func readResponse() {
        guard let socket else { return }
        var eof = false
        for _ in 0..<8 {
            input.reserveWritable(64 * 1024)
            let room = input.writableCount
            let n = Glibc.read(socket.fd, input.writableTail, room)
            if n > 0 { input.didWrite(n); receivedAny = true; if n < room { break }; continue }
            if n == 0 { eof = true; break }
            if errno == EINTR { continue }
            if errno == EAGAIN { break }
            eof = true; break
        }
        process()
        if eof && !finished { upstreamClosed() }
    }

    /// Runs the response state machine over buffered bytes.
    private func process() {
        while !finished && !readPaused {
            if !headDone {
                if input.isEmpty { return }
                switch HTTPResponseParser.parseHead(input.readable, requestMethod: request.method) {
                case .incomplete: return
                case .failure(let why): fail(.invalidResponse(why)); return
                case .complete(let head, let f, let ka, let consumed):
                    input.consume(consumed)
                    if head.status < 200 {
                        if head.status == 101 { fail(.invalidResponse("unexpected protocol switch")); return }
                        continue   // 100 Continue, 103 Early Hints: the final response follows
                    }
                    headDone = true
                    replay = nil
                    framing = f; keepAlive = ka
                    if case .contentLength(let n) = f { remaining = n }
                    handler?.upstreamHead(head)
                    if finished { return }
                    if framing == .none || framing == .contentLength(0) { responseComplete(); return }
                }
                continue
            }
            if input.isEmpty { return }
            switch framing {
            case .none:
                responseComplete(); return
            case .contentLength:
                // Slices of at most 64 KiB, so a pause takes effect before the client's buffer grows far.
                let take = min(remaining, input.readableCount, Self.deliverSlice)
                remaining -= take
                let more = deliver(UnsafeRawBufferPointer(rebasing: input.readable[0..<take]))
                input.consume(take)
                if finished { return }
                if remaining == 0 { responseComplete(); return }
                if !more { return }
            case .chunked:
                var decoder = chunkDecoder
                var more = true
                let result = decoder.decode(input.readable) { piece in
                    if !self.finished { more = self.deliver(piece) && more }
                }
                chunkDecoder = decoder
                if finished { return }
                switch result {
                case .needMore(let c): input.consume(c); if c == 0 || !more { return }
                case .finished(let c): input.consume(c); responseComplete(); return
                case .failure(let e): fail(.invalidResponse("bad chunked body: \(e.message)")); return
                }
            case .untilClose:
                let take = min(input.readableCount, Self.deliverSlice)
                let more = deliver(UnsafeRawBufferPointer(rebasing: input.readable[0..<take]))
                input.consume(take)
                if !more || finished { return }
            }
        }
    }

    /// Hands body bytes to the pipeline; false = it asked us to pause reading.
    private func deliver(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 0, let handler else { return true }
        if handler.upstreamBody(bytes) { return true }
        readPaused = true
        socket?.setInterest(read: false, write: !out.isEmpty)
        return false
    }

    func resume() {
        guard readPaused, !finished else { return }
        readPaused = false
        socket?.setInterest(read: true, write: !out.isEmpty)
        transport.loop.deferToEndOfIteration { [self] in process() }
    }

    private func upstreamClosed() {
        if headDone && framing == .untilClose { keepAlive = false; responseComplete(); return }
        if !headDone && !receivedAny { connectionBroke("connection closed before a response"); return }
        fail(.reset(headDone ? "upstream closed mid-body" : "upstream closed mid-head"))
    }

    /// A reused connection that died before answering gets one fresh retry when the whole request
    /// is still in `replay`; anything else is a failed exchange.
    private func connectionBroke(_ why: String) {
        guard let s = socket else { return }
        if s.reused && !receivedAny && !retried, let again = replay, bodyEnded {
            retried = true
            s.close(); socket = nil
            out.consume(out.readableCount)
            out.append(again)
            attach(nil)
            return
        }
        fail(.reset(why))
    }

    private func responseComplete() {
        guard !finished else { return }
        let h = handler
        if let s = socket {
            socket = nil
            if keepAlive && bodyEnded && out.isEmpty && input.isEmpty { transport.putIdle(s, key: key) } else { s.close() }
        }
        release()
        h?.upstreamFinished(nil)
    }

    private func fail(_ failure: UpstreamFailure) {
        guard !finished else { return }
        let h = handler
        socket?.close(); socket = nil
        release()
        h?.upstreamFinished(failure)
    }

    func cancel() {
        guard !finished else { return }
        socket?.close(); socket = nil
        release()
    }

    private func release() {
        finished = true
        handler = nil
        transport.loop.cancel(connectTimer); connectTimer = nil
        transport.loop.deferToEndOfIteration { [self] in selfRetain = nil }
    }
}
