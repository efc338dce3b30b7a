import CLinux
import RampartLoop
import Glibc
import RampartHTTP

/// One request/response over an `UpstreamSocket`: the I/O shell around `HTTP1ClientMachine`,
/// which holds every protocol decision (framing both ways, backpressure, reuse, the one retry of a
/// pooled connection found dead, the connect deadline). This class only performs its actions:
/// sockets, buffers, timers and calls into the handler.
final class HTTP1Call: UpstreamCall, DeferredFlush {
    /// The loop's transport, which lives as long as the loop and so outlives every call it
    /// starts: `unowned(unsafe)` reads it as a plain pointer (a checked `unowned` read costs an
    /// atomic retain and release each time).
    private unowned(unsafe) let transport: HTTP1Transport
    private let request: UpstreamRequest
    /// nil once the call has ended (completed, failed or cancelled).
    @exclusivity(unchecked) private var handler: UpstreamResponseHandler?
    /// `host:port` as configured.
    private let name: String
    /// The pool key: `name` for an IP address; `name#generation` for a host name, so a changed
    /// DNS answer stops the reuse of connections to the old addresses.
    @exclusivity(unchecked) private var key: String
    /// The numeric address when the host is one; nil for a host name (`HostCache` resolves it).
    private let numeric: SocketAddressBytes?
    @exclusivity(unchecked) private var socket: UpstreamSocket?
    @exclusivity(unchecked) private var selfRetain: HTTP1Call?
    /// The protocol state machine. Its methods never call back into the shell, so a mutating call
    /// can never overlap another access: no runtime exclusivity check (see `EventLoop`).
    @exclusivity(unchecked) private var machine: HTTP1ClientMachine

    /// Request bytes not yet written; the machine counts them too (`unsent`).
    private let out = ByteBuffer()   // the pooled size: taken from and given back to the loop's pool
    /// The request bytes after the head so far, while the machine says a replay may need them (a
    /// replay encodes the head again from `request`).
    @exclusivity(unchecked) private var replay: [UInt8] = []
    @exclusivity(unchecked) private var connectTimer: LoopTimer?
    @exclusivity(unchecked) private var flushScheduled = false
    /// Chunk headers of a streamed upload are written here.
    @exclusivity(unchecked) private var scratch: [UInt8] = []

    init(transport: HTTP1Transport, request: UpstreamRequest, handler: UpstreamResponseHandler) {
        self.transport = transport; self.request = request; self.handler = handler
        name = request.endpoint.hostPort
        key = name
        numeric = request.endpoint.numericAddress
        let body: HTTP1ClientMachine.RequestBody
        switch request.body {
        case .none: body = .none
        case .known(let n): body = .known(n)
        case .streamed: body = .streamed
        }
        machine = HTTP1ClientMachine(method: request.method, body: body)
        machine.upgrade = request.upgrade
        selfRetain = self
    }

    func begin() {
        writeHead()
        if numeric != nil { attach(takeIdle()); return }
        switch transport.lookup(name, host: request.endpoint.host, port: request.endpoint.port, for: self) {
        case .ready(let poolKey, _): hostReady(poolKey: poolKey)
        case .wait: startConnecting()   // the connect timeout covers the lookup
        case .failed(let error): failConnectLater(error)
        }
    }

    /// The host name has addresses (at once, or after a lookup this call waited for).
    func hostReady(poolKey: String) {
        guard !machine.isFinished else { return }
        key = poolKey
        attach(takeIdle())
    }

    /// The host name did not resolve.
    func hostFailed(_ error: String) {
        guard !machine.isFinished else { return }
        fail(machine.connectFailed(error))
    }

    private func writeHead() {
        request.withFields { fields in
            out.reserveWritable(HTTP1ClientMachine.headSizeBound(method: request.method, target: request.target, fields: fields))
            out.didWrite(machine.encodeHead(target: request.target, fields: fields, at: out.writableTail.assumingMemoryBound(to: UInt8.self)))
        }
    }

    /// A pooled connection, except for a handshake (its connection becomes a tunnel) or TLS (the
    /// pool holds plain connections only).
    private func takeIdle() -> UpstreamSocket? {
        request.upgrade || request.endpoint.isHTTPS ? nil : transport.takeIdle(key)
    }

    /// Uses a pooled connection, or opens a new one.
    private func attach(_ pooled: UpstreamSocket?) {
        if let pooled {
            socket = pooled
            pooled.reused = true
            pooled.owner = self
            // A call that waited for a lookup may find a pooled connection after all.
            machine.connected(reused: true)
            transport.loop.cancel(connectTimer); connectTimer = nil
            scheduleFlush()
            return
        }
        guard let address = numeric ?? transport.nextAddress(name) else {
            failConnectLater("\(name): no address")
            return
        }
        guard let s = UpstreamSocket.connect(to: address, loop: transport.loop) else {
            failConnectLater(String(cString: strerror(errno)))
            return
        }
        socket = s
        s.owner = self
        if request.endpoint.isHTTPS {
            guard let tls = transport.tlsSession(fd: s.fd, endpoint: request.endpoint) else {
                failConnectLater("TLS set-up failed"); return
            }
            s.tls = tls
        }
        startConnecting()
    }

    /// Failures found while starting are reported on the next loop turn, never from inside `start`.
    private func failConnectLater(_ why: String) {
        transport.loop.deferToEndOfIteration { [self] in
            guard !machine.isFinished else { return }
            fail(machine.connectFailed(why))
        }
    }

    private func startConnecting() {
        let timeout = UInt64(max(0, request.connectTimeoutMs)) &* 1_000_000
        armConnectTimer(machine.startConnecting(now: transport.loop.monotonicNow(), timeoutNs: timeout))
    }

    private func armConnectTimer(_ deadline: UInt64) {
        guard connectTimer == nil else { return }
        connectTimer = transport.loop.schedule(at: deadline) { [self] in
            connectTimer = nil
            switch machine.deadlineReached(now: transport.loop.now) {
            case .fail(let f): fail(f)
            case .none: if let d = machine.connectDeadline { armConnectTimer(d) }
            }
        }
    }

    // MARK: Request body

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        let more: Bool
        switch machine.frameBody(count: bytes.count, chunkHeader: &scratch) {
        case .skip: return .proceed
        case .raw(let m): queue(bytes); more = m
        case .chunk(let m):
            scratch.withUnsafeBytes { queue($0) }
            queue(bytes)
            ChunkedEncoder.chunkTrailer.withUnsafeBytes { queue($0) }
            more = m
        }
        scheduleFlush()
        return more ? .proceed : .pause
    }

    func endBody() {
        switch machine.endBody() {
        case .nothing: return
        case .ended: break
        case .lastChunk: ChunkedEncoder.lastChunk.withUnsafeBytes { queue($0) }
        }
        scheduleFlush()
    }

    private func queue(_ bytes: UnsafeRawBufferPointer) {
        out.append(bytes)
        if machine.keepsReplayCopy { replay.append(contentsOf: bytes) } else if !replay.isEmpty { replay = [] }
    }

    private func scheduleFlush() {
        guard !flushScheduled, socket != nil, machine.canSend else { return }
        flushScheduled = true
        transport.loop.scheduleFlush(self)
    }

    func flushDeferred() { flush() }

    private func flush() {
        flushScheduled = false
        guard let socket, machine.canSend else { return }
        var sent = 0
        while !out.isEmpty {
            let n = socket.send(out.readable.baseAddress!, out.readableCount)
            if n > 0 { out.consume(n); sent += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            connectionBroke(machine.sendFailed("send: \(String(cString: strerror(errno)))")); return
        }
        // Sent: the buffer goes back while the response (an SSE stream, say) may run for minutes.
        if out.isEmpty { out.release() }
        // Bytes left over wait for the next output edge (registered once, edge-triggered).
        if machine.sent(sent) { handler?.resumeRequestBody() }
    }

    // MARK: Readiness

    func socketReady(_ events: UInt32) {
        guard let socket, !machine.isFinished else { return }
        if machine.connectDeadline != nil {
            guard events & (Epoll.output | Epoll.error | Epoll.hangup) != 0 else { return }
            let err = socket.connectError
            if err != 0 { fail(machine.connectFailed(String(cString: strerror(err)))); return }
            machine.connected(reused: false)
            transport.loop.cancel(connectTimer); connectTimer = nil
            flush()
            return
        }
        if !out.isEmpty { flush() }
        if machine.isFinished { return }
        if socket.readReady && !machine.readPaused { readResponse() }
    }

    private func readResponse() {
        guard let socket else { return }
        let input = socket.input
        var rounds = 8
        while socket.readReady && rounds > 0 {
            rounds -= 1
            // The end of stream, or any error: the connection is over (buffered bytes still count).
            if case .ended = socket.fill(input) { machine.receivedEOF() }
        }
        process()
        // Mid-response and drained (an SSE stream between events): the buffer goes back until the
        // next bytes arrive. A response that completed left the socket, buffer and all, to the pool.
        if input.isEmpty, self.socket === socket, !machine.isFinished { input.release() }
        // Bytes left after the bounded reads: no new edge will announce them.
        if socket.readReady, self.socket === socket, !machine.isFinished, !machine.readPaused {
            transport.loop.deferToEndOfIteration { [self] in
                if self.socket === socket, !machine.isFinished, !machine.readPaused { readResponse() }
            }
        }
    }

    /// Performs the machine's response actions over the buffered bytes until it needs more.
    private func process() {
        // The socket's buffer (a pooled connection keeps its own: no allocation per request).
        guard let input = socket?.input else { return }
        while true {
            // No binding of the action: the head moves on to the handler, which edits its fields
            // without a copy.
            switch machine.readResponse(input.readable) {
            case .needMore(let c):
                input.consume(c); return
            case .head(let head, let c):
                input.consume(c)
                replay = []
                handler?.upstreamHead(consume head)
                if machine.isFinished { return }
            case .body(let range):
                let more = (handler?.upstreamBody(UnsafeRawBufferPointer(rebasing: input.readable[range])) ?? .proceed) == .proceed
                input.consume(range.upperBound)
                if machine.isFinished { return }
                if !more { machine.pauseReading() }
            case .complete(let c, let reusable):
                input.consume(c); responseComplete(reusable: reusable); return
            case .upgraded(let head, let c):
                input.consume(c); upgraded(head); return
            case .retryOnFreshConnection:
                connectionBroke(.retryOnFreshConnection); return
            case .fail(let failure):
                connectionBroke(.fail(failure)); return
            }
        }
    }

    func resumeResponse() {
        guard machine.resumeReading() else { return }
        transport.loop.deferToEndOfIteration { [self] in
            process()
            // The socket may hold bytes that arrived while paused: no new edge will announce them.
            if let socket, socket.readReady, !machine.isFinished, !machine.readPaused { readResponse() }
        }
    }

    /// The machine's answer to a broken connection: one replay on a fresh one, or the failure.
    private func connectionBroke(_ action: HTTP1ClientMachine.ResponseAction) {
        switch action {
        case .retryOnFreshConnection:
            socket?.close(); socket = nil
            out.consume(out.readableCount)
            out.reserveWritable(machine.headSizeBound(target: request.target, fields: request.fields))
            out.didWrite(machine.writeHead(target: request.target, fields: request.fields, at: out.writableTail.assumingMemoryBound(to: UInt8.self)))
            out.append(replay)
            attach(nil)
        case .fail(let f): fail(f)
        default: break
        }
    }

    private func responseComplete(reusable: Bool) {
        guard let h = handler else { return }
        assert(out.readableCount == machine.unsent, "the machine's count of unsent bytes drifted")
        if let s = socket {
            socket = nil
            if reusable && s.input.isEmpty { transport.putIdle(s, key: key) } else { s.close() }
        }
        release()
        h.upstreamFinished(nil)
    }

    /// A 101: the connection, with whatever followed the head, goes to a tunnel.
    private func upgraded(_ head: HTTPResponseHead) {
        guard let h = handler, let s = socket else { return }
        socket = nil
        release()
        h.upstreamUpgraded(head, tunnel: UpstreamTunnel(socket: s))
    }

    private func fail(_ failure: HTTP1ClientMachine.Failure) {
        guard let h = handler else { return }
        socket?.close(); socket = nil
        release()
        h.upstreamFinished(Self.upstreamFailure(failure))
    }

    private static func upstreamFailure(_ f: HTTP1ClientMachine.Failure) -> UpstreamFailure {
        switch f {
        case .connectFailed(let s): return .connectFailed(s)
        case .connectTimeout: return .connectTimeout
        case .reset(let s): return .reset(s)
        case .invalidResponse(let e): return .invalidResponse(e.message)
        }
    }

    func cancel() {
        guard handler != nil else { return }
        machine.cancel()
        socket?.close(); socket = nil
        release()
    }

    private func release() {
        handler = nil
        transport.loop.cancel(connectTimer); connectTimer = nil
        if selfRetain != nil {
            transport.loop.releaseAtEndOfIteration(self)   // a caller up the stack may still be in one of our methods
            selfRetain = nil
        }
    }
}
