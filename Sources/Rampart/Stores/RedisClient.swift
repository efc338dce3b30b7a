import CLinux
import Foundation
import Glibc
import Synchronization

/// Why a Redis command did not produce a reply.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not connected (Redis down, reconnecting with backoff, or too many commands pending).
    case unavailable(String)
    /// The connection dropped (or was reset) while the command was in flight.
    case connectionLost(String)
    /// No reply within the command timeout; the connection is reset afterwards.
    case timeout
    /// Redis answered with an error reply (`-ERR ...`, `-NOSCRIPT ...`).
    case server(String)
    /// The reply did not have the expected shape.
    case unexpectedReply(String)
    /// The client was closed.
    case closed

    public var description: String {
        switch self {
        case .unavailable(let m): return "redis unavailable: \(m)"
        case .connectionLost(let m): return "redis connection lost: \(m)"
        case .timeout: return "redis command timed out"
        case .server(let m): return "redis error: \(m)"
        case .unexpectedReply(let m): return "unexpected redis reply: \(m)"
        case .closed: return "redis client closed"
        }
    }

    /// True for failures meaning "Redis could not be asked" (the `on_unavailable` policy applies),
    /// false for answers Redis gave.
    public var isUnavailability: Bool {
        switch self {
        case .unavailable, .connectionLost, .timeout, .closed: return true
        case .server, .unexpectedReply: return false
        }
    }
}

/// One pipelined, non-blocking connection to Redis owned by one event loop.
///
/// Everything except `isHealthy`, `lastError` and `stats` must be called on the loop's thread
/// (from another thread, go through `loop.execute`). Commands are written as soon as they are
/// sent (coalesced into one write per loop iteration) and replies are matched to callbacks in
/// FIFO order; callbacks run on the loop. A command without a reply after `commandTimeoutMs`
/// fails with `.timeout` and resets the connection (the FIFO is out of sync from then on). When
/// the connection drops every pending callback fails at once, and the client reconnects in the
/// background with backoff (100 ms doubling to 2 s); while it is down, commands fail immediately.
public final class RedisClient: EventHandler, @unchecked Sendable {
    public struct Options: Sendable {
        public var connectTimeoutMs: Int
        public var commandTimeoutMs: Int
        public var minBackoffMs: Int
        public var maxBackoffMs: Int
        /// Commands allowed in flight at once; beyond that `send` fails with `.unavailable`.
        public var maxPending: Int
        public init(connectTimeoutMs: Int = 1000, commandTimeoutMs: Int = 1000, minBackoffMs: Int = 100,
                    maxBackoffMs: Int = 2000, maxPending: Int = 100_000) {
            self.connectTimeoutMs = connectTimeoutMs; self.commandTimeoutMs = commandTimeoutMs
            self.minBackoffMs = minBackoffMs; self.maxBackoffMs = maxBackoffMs; self.maxPending = maxPending
        }
    }

    public struct Stats: Sendable, Equatable {
        public var connects = 0
        public var disconnects = 0
        public var timeouts = 0
        public var failedCommands = 0
    }

    public typealias Completion = (Result<RESPValue, RedisError>) -> Void

    private enum State { case idle, resolving, connecting, handshaking, ready, backoff, closed }

    private struct Pending {
        var deadline: UInt64
        var completion: Completion
    }

    public let url: RedisURL
    public let loop: EventLoop
    public let options: Options

    private var state = State.idle
    private var fd: Int32 = -1
    /// Bumped on every connection attempt so late DNS results and callbacks of old connections are ignored.
    private var generation: UInt64 = 0
    /// True from a failure until the next successful handshake: commands then fail fast instead of
    /// queueing behind a connection attempt that will probably fail too.
    private var failedSinceReady = false
    private var backoffMs: Int
    private var pending: [Pending] = []
    private var pendingHead = 0
    /// Handshake replies (AUTH, SELECT) still expected at the head of the FIFO.
    private var handshakeRemaining = 0
    private var out: [UInt8] = []
    private var outOffset = 0
    private var flushScheduled = false
    private var interest: UInt32 = 0
    private var decoder = RESPDecoder()
    private var readScratch = [UInt8](repeating: 0, count: 64 * 1024)
    private var connectTimer: LoopTimer?
    private var reconnectTimer: LoopTimer?
    private var deadlineTimer: LoopTimer?

    private let healthy = Atomic<Bool>(false)
    private let shared = Mutex<(lastError: String?, stats: Stats)>((nil, Stats()))

    public init(url: RedisURL, loop: EventLoop, options: Options = Options()) {
        self.url = url; self.loop = loop; self.options = options
        backoffMs = options.minBackoffMs
    }

    // MARK: Readiness (any thread)

    /// Connected, authenticated and the database selected.
    public var isHealthy: Bool { healthy.load(ordering: .acquiring) }
    /// The latest connection failure; nil once connected again.
    public var lastError: String? { shared.withLock { $0.lastError } }
    public var stats: Stats { shared.withLock { $0.stats } }

    // MARK: Lifecycle (loop thread)

    /// Starts connecting (also done by the first `send`). Idempotent.
    public func start() {
        guard state == .idle else { return }
        connect()
    }

    /// Fails every pending command with `.closed` and stops reconnecting.
    public func close() {
        guard state != .closed else { return }
        teardown()
        state = .closed
        healthy.store(false, ordering: .releasing)
        loop.cancel(reconnectTimer); reconnectTimer = nil
        failAll(.closed)
    }

    /// Commands sent but not answered yet (including those queued behind the first connect).
    public var pendingCount: Int { pending.count - pendingHead }

    // MARK: Commands (loop thread)

    public func send(_ args: [String], completion: @escaping Completion) {
        var bytes = [UInt8]()
        RESPEncoder.appendCommand(args, to: &bytes)
        send(encoded: bytes, completion: completion)
    }

    public func send(bytes args: [[UInt8]], completion: @escaping Completion) {
        var bytes = [UInt8]()
        RESPEncoder.appendCommand(args, to: &bytes)
        send(encoded: bytes, completion: completion)
    }

    /// Sends an already RESP-encoded command (exactly one command: one reply is expected).
    public func send(encoded: [UInt8], completion: @escaping Completion) {
        if state == .idle { connect() }
        switch state {
        case .closed:
            completion(.failure(.closed)); return
        case .backoff, .idle:
            noteFailedCommand()
            completion(.failure(.unavailable(lastError ?? "not connected"))); return
        case .resolving, .connecting, .handshaking:
            // The very first connect: queue behind it. After a failure: fail fast.
            if failedSinceReady {
                noteFailedCommand()
                completion(.failure(.unavailable(lastError ?? "reconnecting"))); return
            }
        case .ready:
            break
        }
        guard pendingCount < options.maxPending else {
            noteFailedCommand()
            completion(.failure(.unavailable("\(options.maxPending) commands pending"))); return
        }
        enqueue(encoded, deadline: rampart_monotonic_ns() &+ UInt64(options.commandTimeoutMs) &* 1_000_000, completion)
        if state == .handshaking || state == .ready { scheduleFlush() }
    }

    private func enqueue(_ bytes: [UInt8], deadline: UInt64, _ completion: @escaping Completion) {
        out.append(contentsOf: bytes)
        pending.append(Pending(deadline: deadline, completion: completion))
        if deadlineTimer == nil { armDeadlineTimer() }
    }

    private func noteFailedCommand() { shared.withLock { $0.stats.failedCommands += 1 } }

    // MARK: Connecting

    private func connect() {
        generation &+= 1
        loop.cancel(reconnectTimer); reconnectTimer = nil
        let gen = generation
        connectTimer = loop.schedule(afterMs: options.connectTimeoutMs) { [weak self] in
            guard let self, self.generation == gen else { return }
            self.connectTimer = nil
            self.connectionFailed("connect to \(self.url.host):\(self.url.port) timed out after \(self.options.connectTimeoutMs) ms")
        }
        if let address = SocketAddressBytes.numeric(host: url.host, port: url.port) {
            state = .connecting
            open(address)
            return
        }
        // A name: resolve off the loop (getaddrinfo blocks), then come back.
        state = .resolving
        let host = url.host, port = url.port, loop = self.loop
        let thread = Thread { [weak self] in
            let result = SocketAddressBytes.resolve(host: host, port: port)
            loop.execute { [weak self] in
                guard let self, self.generation == gen, self.state == .resolving else { return }
                switch result {
                case .success(let address): self.state = .connecting; self.open(address)
                case .failure(let message): self.connectionFailed(message)
                }
            }
        }
        thread.name = "rampart-redis-dns"
        thread.start()
    }

    private func open(_ address: SocketAddressBytes) {
        let s = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { connectionFailed("socket: \(String(cString: strerror(errno)))"); return }
        var one: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
        fd = s
        let rc = address.bytes.withUnsafeBytes { raw in
            Glibc.connect(s, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if rc == 0 { connected(); return }
        let e = errno
        guard e == EINPROGRESS || e == EINTR else {
            connectionFailed("connect to \(url.host):\(url.port): \(String(cString: strerror(e)))")
            return
        }
        interest = Epoll.output | Epoll.readHangup
        loop.register(fd: s, events: interest, handler: self)
    }

    private func connected() {
        loop.cancel(connectTimer); connectTimer = nil
        if interest == 0 {
            interest = Epoll.input | Epoll.readHangup
            loop.register(fd: fd, events: interest, handler: self)
        }
        shared.withLock { $0.stats.connects += 1 }
        // Handshake first, in front of whatever was queued while connecting.
        var hello = [UInt8]()
        var handlers: [Pending] = []
        let deadline = rampart_monotonic_ns() &+ UInt64(options.commandTimeoutMs) &* 1_000_000
        let gen = generation
        if let password = url.password {
            RESPEncoder.appendCommand(url.username.map { ["AUTH", $0, password] } ?? ["AUTH", password], to: &hello)
            handlers.append(Pending(deadline: deadline) { [weak self] r in self?.handshakeReply(r, "AUTH", gen) })
        }
        if url.database != 0 {
            RESPEncoder.appendCommand(["SELECT", String(url.database)], to: &hello)
            handlers.append(Pending(deadline: deadline) { [weak self] r in self?.handshakeReply(r, "SELECT \(self?.url.database ?? 0)", gen) })
        }
        if handlers.isEmpty {
            becameReady()
        } else {
            state = .handshaking
            handshakeRemaining = handlers.count
            out.replaceSubrange(outOffset..<outOffset, with: hello)
            pending.replaceSubrange(pendingHead..<pendingHead, with: handlers)
            armDeadlineTimer()
        }
        if outOffset < out.count { scheduleFlush() }
    }

    private func handshakeReply(_ result: Result<RESPValue, RedisError>, _ what: String, _ gen: UInt64) {
        guard generation == gen, state == .handshaking else { return }
        switch result {
        case .success:
            handshakeRemaining -= 1
            if handshakeRemaining == 0 { becameReady() }
        case .failure(let e):
            let message: String
            if case .server(let m) = e { message = "\(what.hasPrefix("AUTH") ? "AUTH" : what) failed: \(m)" } else { message = "\(what) failed: \(e)" }
            // Safe inside the reply loop: it stops as soon as the generation changes.
            connectionFailed(message)
        }
    }

    private func becameReady() {
        state = .ready
        failedSinceReady = false
        backoffMs = options.minBackoffMs
        healthy.store(true, ordering: .releasing)
        shared.withLock { $0.lastError = nil }
    }

    /// Any failure of the connection: fail everything in flight, reconnect later.
    private func connectionFailed(_ message: String, pendingError: RedisError? = nil) {
        guard state != .closed, state != .backoff, state != .idle else { return }
        let wasConnected = state == .ready || state == .handshaking
        teardown()
        state = .backoff
        failedSinceReady = true
        healthy.store(false, ordering: .releasing)
        shared.withLock {
            $0.lastError = message
            if wasConnected { $0.stats.disconnects += 1 }
        }
        let delay = backoffMs
        backoffMs = min(options.maxBackoffMs, backoffMs * 2)
        let gen = generation
        reconnectTimer = loop.schedule(afterMs: delay) { [weak self] in
            guard let self, self.generation == gen, self.state == .backoff else { return }
            self.reconnectTimer = nil
            self.connect()
        }
        failAll(pendingError ?? (wasConnected ? .connectionLost(message) : .unavailable(message)))
    }

    /// Closes the socket and forgets buffered bytes; the pending FIFO is left to the caller.
    private func teardown() {
        generation &+= 1
        loop.cancel(connectTimer); connectTimer = nil
        loop.cancel(deadlineTimer); deadlineTimer = nil
        if fd >= 0 {
            if interest != 0 { loop.unregister(fd: fd) }
            Glibc.close(fd)
            fd = -1
        }
        interest = 0
        out.removeAll(keepingCapacity: false); outOffset = 0
        flushScheduled = false
        decoder.reset()
        handshakeRemaining = 0
    }

    private func failAll(_ error: RedisError) {
        guard pendingCount > 0 else { pending.removeAll(); pendingHead = 0; return }
        let victims = pending[pendingHead...]
        pending = []; pendingHead = 0
        shared.withLock { $0.stats.failedCommands += victims.count }
        for p in victims { p.completion(.failure(error)) }
    }

    // MARK: Timeouts

    private func armDeadlineTimer() {
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
        if pending[pendingHead].deadline > rampart_monotonic_ns() { armDeadlineTimer(); return }
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

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        let gen = generation
        loop.deferToEndOfIteration { [weak self] in
            guard let self, self.generation == gen else { return }
            self.flushScheduled = false
            self.flush()
        }
    }

    private func flush() {
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

    private func updateInterest() {
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
