import CLinux
import RampartLoop
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
        if let tls, tls.readWantsWrite { tls.readWantsWrite = false; readReady = true; readAvailable(); guard state != .closed else { return } }
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
            if n > 0 { writeBuffer.consume(n); host.bytesOut(n); continue }
            if n < 0 && tls == nil && errno == EINTR { continue }
            if n < 0 && tls == nil && errno == EAGAIN { break }
            // EPIPE / ECONNRESET: the client is gone.
            let ex = exchange; exchange = nil
            close(); ex?.connectionClosed(); return
        }
        if writeBuffer.isEmpty {
            // A flushed buffer goes back (nginx frees an idle keep-alive connection's buffers):
            // thousands of idle connections, or of SSE streams between events, hold none. Between
            // requests the read buffer goes too. A busy stream pays one malloc per burst.
            writeBuffer.release()
            if state == .awaitingHead { readBuffer.release() }
            if machine.closeAfterFlush { finishClose(); return }
        }
        // Bytes left over wait for the next output edge (registered once, edge-triggered).
        if machine.flushed(buffered: writeBuffer.readableCount) { exchange?.resumeResponse() }
    }

    // MARK: Timers

    /// Arms the one timer for the machine's deadline when it is due earlier than the timer; a
    /// deadline that moved later only lets the timer fire early and re-arm (`deadlineReached`).
    func syncTimer() {
        guard machine.deadline != .none else { return }
        let at = machine.deadlineAt
        if !timer.isScheduled || timer.scheduledAt > at { loop.arm(timer, at: at) }
    }

    func deadlineReached() {
        switch machine.deadlineReached(now: loop.now, buffered: readBuffer.readableCount) {
        case .none: break
        case .rearm: loop.arm(timer, at: machine.deadlineAt)
        case .close: close()
        case .headTimedOut:
            respondAndClose(.timeout("header", message: "The request head did not arrive in time."))
        case .bodyTimedOut:
            // The exchange answers when it can: the client then gets its request id, and the
            // access log one line for the request with its route (the reply closes the connection).
            if let ex = exchange, ex.requestBodyTimedOut() { return }
            let ex = exchange; exchange = nil
            ex?.connectionClosed()
            respondAndClose(.timeout("body", message: "The request body did not arrive in time."))
        }
    }

    // MARK: Closing

    /// Stop reusing this connection; close it now when idle (graceful shutdown).
    public func drain() {
        perform(machine.drain(buffered: readBuffer.readableCount, writePending: !writeBuffer.isEmpty))
        // A tunnel (a WebSocket) does not end by itself: its exchange asks the peers to close.
        if state == .tunnel { exchange?.drainStarted() }
    }

    package var isIdle: Bool { machine.isIdle(buffered: readBuffer.readableCount) }

    /// The drain deadline passed: the exchange ends its response now (a stream gets its error
    /// event and a clean end); a connection with no exchange closes.
    public func drainDeadlineReached() {
        guard state != .closed else { return }
        if let ex = exchange { machine.markDraining(); ex.drainDeadlineReached(); return }
        perform(machine.shutDown(writePending: !writeBuffer.isEmpty))
    }

    private func perform(_ action: HTTP1ServerMachine.DrainAction) {
        switch action {
        case .none: break
        case .close: close()
        case .closeAfterFlush: scheduleFlush()
        }
    }

    private func finishClose() {
        switch machine.written(buffered: readBuffer.readableCount, now: loop.now) {
        case .close:
            close()
        case .linger:
            tls?.shutdown()
            shutdown(fd, Int32(SHUT_WR))
            syncTimer()
            discardForLinger()
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
        machine.closed()
        loop.disarm(timer)
        loop.unregister(fd: fd)
        if let tls, !closedByPeer { tls.shutdown() }
        Glibc.close(fd)
        host.connectionClosed(self)
    }
}
