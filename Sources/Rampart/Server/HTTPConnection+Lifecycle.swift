import CLinux
import Glibc
import RampartHTTP

/// The connection's writing, deadlines and closing (lingering close, drain), split from
/// HTTPConnection.swift to keep each file readable; the state they share is declared there.
extension HTTPConnection {
    // MARK: Writing

    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.scheduleFlush(self)
    }

    public func flushDeferred() { flush() }

    func flush() {
        flushScheduled = false
        guard state != .closed else { return }
        if let tls, tls.readWantsWrite { tls.readWantsWrite = false; readAvailable(); guard state != .closed else { return } }
        while !writeBuffer.isEmpty {
            var n: Int
            if let tls {
                switch tls.write(writeBuffer.readable.baseAddress!, count: writeBuffer.readableCount) {
                case .bytes(let k): n = k
                case .wouldBlock: n = -2
                case .closed: n = -1
                }
                if n == -2 { break }
            } else {
                n = Glibc.write(fd, writeBuffer.readable.baseAddress!, writeBuffer.readableCount)
            }
            if n > 0 { writeBuffer.consume(n); context.metrics.bytesOut(n); continue }
            if n < 0 && tls == nil && errno == EINTR { continue }
            if n < 0 && tls == nil && errno == EAGAIN { break }
            // EPIPE / ECONNRESET: the client is gone.
            let ex = exchange; exchange = nil
            close(); ex?.connectionClosed(); return
        }
        if writeBuffer.isEmpty {
            // Give a big buffer back only between requests: shrinking mid-stream would regrow it
            // on every burst (allocator churn and fragmentation).
            if state == .awaitingHead { writeBuffer.shrinkIfIdle() }
            if closeAfterFlush { finishClose(); return }
        }
        if waitingForWritable && writeBuffer.readableCount <= Self.lowWatermark {
            waitingForWritable = false
            exchange?.responseWritable()
        }
        updateInterest()
    }

    func updateInterest() {
        guard state != .closed else { return }
        var want = Epoll.readHangup
        if wantsToRead { want |= Epoll.input }
        if !writeBuffer.isEmpty || tls?.readWantsWrite == true { want |= Epoll.output }
        if state == .awaitingResponse && !wantsToRead { want = !writeBuffer.isEmpty ? Epoll.output : 0 }
        if want != interest { interest = want; loop.modify(fd: fd, events: want) }
    }

    // MARK: Timers

    func setDeadline(_ kind: Deadline, afterMs ms: Int) {
        deadlineKind = kind
        deadlineAt = rampart_monotonic_ns() &+ UInt64(max(0, ms)) &* 1_000_000
        if !timer.isScheduled || timer.scheduledAt > deadlineAt { loop.arm(timer, at: deadlineAt) }
    }

    func deadlineReached() {
        guard deadlineKind != .none, state != .closed else { return }
        if rampart_monotonic_ns() < deadlineAt { loop.arm(timer, at: deadlineAt); return }
        let kind = deadlineKind
        deadlineKind = .none
        switch kind {
        case .head: headTimedOut()
        case .body: bodyTimedOut()
        case .idle, .linger: close()
        case .none: break
        }
    }

    private func headTimedOut() {
        guard state == .awaitingHead else { return }
        if readBuffer.isEmpty { close(); return }
        context.metrics.timeout(kind: "header")
        respondAndClose(GatewayError(status: 408, code: "REQUEST_TIMEOUT", message: "The request head did not arrive in time."))
    }

    private func bodyTimedOut() {
        guard state == .readingBody else { return }
        context.metrics.timeout(kind: "body")
        let ex = exchange; exchange = nil
        ex?.connectionClosed()
        respondAndClose(GatewayError(status: 408, code: "REQUEST_TIMEOUT", message: "The request body did not arrive in time."))
    }

    // MARK: Closing

    /// Stop reusing this connection; close it now when idle (graceful shutdown).
    func drain() {
        draining = true
        keepAlive = false
        guard state == .awaitingHead && readBuffer.isEmpty else { return }   // busy: closes after its response
        if !hasServedARequest { return }                        // just accepted: serve its one request
        if writeBuffer.isEmpty { close() } else { closeAfterFlush = true; scheduleFlush() }
    }

    var isIdle: Bool { state == .awaitingHead && readBuffer.isEmpty }

    /// The drain deadline passed: the exchange ends its response now (a stream gets its error
    /// event and a clean end); a connection with no exchange closes.
    func drainDeadlineReached() {
        guard state != .closed else { return }
        draining = true
        keepAlive = false
        if let ex = exchange { ex.drainDeadlineReached(); return }
        if writeBuffer.isEmpty { close() } else { closeAfterFlush = true; scheduleFlush() }
    }

    private func finishClose() {
        // Unread request bytes would make the kernel send RST and destroy the response in flight:
        // half-close and drain for a while (nginx's lingering close).
        if state == .readingBody || !readBuffer.isEmpty || request != nil && state != .awaitingHead {
            state = .lingering
            tls?.shutdown()
            shutdown(fd, Int32(SHUT_WR))
            setDeadline(.linger, afterMs: 2000)
            interest = Epoll.input | Epoll.readHangup
            loop.modify(fd: fd, events: interest)
            discardForLinger()
        } else {
            close()
        }
    }

    func discardForLinger() {
        var sink = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while true {
            let n = withUnsafeMutableBytes(of: &sink) { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n > 0 { continue }
            if n < 0 && errno == EAGAIN { return }
            close(); return
        }
    }

    func close() {
        guard state != .closed else { return }
        state = .closed
        loop.disarm(timer)
        loop.unregister(fd: fd)
        if let tls, !closedByPeer { tls.shutdown() }
        Glibc.close(fd)
        context.connectionClosed(self)
    }
}
