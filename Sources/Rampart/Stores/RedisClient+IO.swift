import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import CLinux
import Glibc

/// The client's timeouts and socket I/O (connect, read, write, reply parsing), split from
/// RedisClient.swift to keep each file readable; the state they share is declared there.
extension RedisClient {
    // MARK: Timeouts

    func armDeadlineTimer() {
        loop.cancel(deadlineTimer); deadlineTimer = nil
        guard pendingHead < pending.count else { return }
        let gen = generation
        deadlineTimer = loop.schedule(at: pending[pendingHead].deadline) { [weak self] in
            guard let self, self.generation == gen else { return }
            self.deadlineTimer = nil
            self.checkDeadlines()
        }
    }

    private func checkDeadlines() {
        guard pendingHead < pending.count else { return }
        if pending[pendingHead].deadline > loop.monotonicNow() { armDeadlineTimer(); return }
        // The oldest command timed out: its reply may still come, so the FIFO can no longer be trusted.
        let head = pending[pendingHead]
        pendingHead += 1
        shared.withLock { $0.stats.timeouts += 1; $0.stats.failedCommands += 1 }
        let message = "no reply within \(options.commandTimeoutMs) ms; connection reset"
        if state == .ready || state == .handshaking {
            connectionFailed(message, pendingError: .connectionLost(message))
        } else {
            connectionFailed("connect to \(url.host):\(url.port) timed out", pendingError: .timeout)
        }
        head.completion(.failure(.timeout))
    }

    // MARK: I/O

    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        let gen = generation
        loop.deferToEndOfIteration { [weak self] in
            guard let self, self.generation == gen else { return }
            self.flushScheduled = false
            self.flush()
        }
    }

    func flush() {
        guard fd >= 0, state == .ready || state == .handshaking else { return }
        while outOffset < out.count {
            let n = out.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + outOffset, raw.count - outOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { outOffset += n; continue }
            let e = errno
            if n < 0 && e == EINTR { continue }
            if n < 0 && (e == EAGAIN || e == EWOULDBLOCK) { break }
            connectionFailed("write to redis: \(String(cString: strerror(e)))")
            return
        }
        if outOffset == out.count {
            out.removeAll(keepingCapacity: out.capacity <= 1 << 20); outOffset = 0
        } else if outOffset > 64 * 1024 && outOffset * 2 > out.count {
            out.removeSubrange(0..<outOffset); outOffset = 0
        }
        updateInterest()
    }

    func updateInterest() {
        guard fd >= 0, state == .ready || state == .handshaking else { return }
        let want = Epoll.input | Epoll.readHangup | (outOffset < out.count ? Epoll.output : 0)
        if want != interest { interest = want; loop.modify(fd: fd, events: want) }
    }

    public func handleEvents(_ events: UInt32) {
        if state == .connecting {
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 || events & (Epoll.error | Epoll.hangup) != 0 {
                connectionFailed("connect to \(url.host):\(url.port): \(String(cString: strerror(err != 0 ? err : ECONNREFUSED)))")
                return
            }
            guard events & Epoll.output != 0 else { return }
            interest = Epoll.input | Epoll.readHangup
            loop.modify(fd: fd, events: interest)
            connected()
            return
        }
        guard state == .ready || state == .handshaking else { return }
        if events & Epoll.output != 0 { flush() }
        if events & (Epoll.input | Epoll.readHangup | Epoll.hangup | Epoll.error) != 0 { readAvailable() }
    }

    private func readAvailable() {
        let gen = generation
        for _ in 0..<16 {
            let n = readScratch.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n > 0 {
                readScratch.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                deliverReplies()
                guard generation == gen else { return }
                if n < readScratch.count { return }
                continue
            }
            if n == 0 { connectionFailed("connection closed by redis"); return }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return }
            connectionFailed("read from redis: \(String(cString: strerror(e)))")
            return
        }
    }

    private func deliverReplies() {
        let gen = generation
        while generation == gen {
            let value: RESPValue?
            do { value = try decoder.next() } catch {
                connectionFailed(error.description)
                return
            }
            guard let value else { break }
            guard pendingHead < pending.count else {
                connectionFailed("reply without a pending command: \(value)")
                return
            }
            let p = pending[pendingHead]
            pendingHead += 1
            if pendingHead == pending.count {
                pending.removeAll(keepingCapacity: true); pendingHead = 0
            } else if pendingHead >= 1024 && pendingHead * 2 >= pending.count {
                pending.removeSubrange(0..<pendingHead); pendingHead = 0
            }
            if case .error(let message) = value { p.completion(.failure(.server(message))) } else { p.completion(.success(value)) }
        }
        // The head changed: re-aim the timeout at the new oldest command.
        if generation == gen {
            if pendingHead < pending.count { if deadlineTimer == nil || !(deadlineTimer!.isActive) { armDeadlineTimer() } }
            else { loop.cancel(deadlineTimer); deadlineTimer = nil }
        }
    }
}
