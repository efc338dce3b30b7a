import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import CLinux
import Foundation
import Glibc
import Synchronization

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

    enum State { case idle, resolving, connecting, handshaking, ready, backoff, closed }

    struct Pending {
        var deadline: UInt64
        var completion: Completion
    }

    public let url: RedisURL
    public let loop: EventLoop
    public let options: Options

    var state = State.idle
    var fd: Int32 = -1
    /// Bumped on every connection attempt so late DNS results and callbacks of old connections are ignored.
    var generation: UInt64 = 0
    /// True from a failure until the next successful handshake: commands then fail fast instead of
    /// queueing behind a connection attempt that will probably fail too.
    private var failedSinceReady = false
    private var backoffMs: Int
    var pending: [Pending] = []
    var pendingHead = 0
    /// Handshake replies (AUTH, SELECT) still expected at the head of the FIFO.
    private var handshakeRemaining = 0
    var out: [UInt8] = []
    var outOffset = 0
    var flushScheduled = false
    var interest: UInt32 = 0
    var decoder = RESPDecoder()
    var readScratch = [UInt8](repeating: 0, count: 64 * 1024)
    private var connectTimer: LoopTimer?
    private var reconnectTimer: LoopTimer?
    var deadlineTimer: LoopTimer?

    private let healthy = Atomic<Bool>(false)
    let shared = Lock<(lastError: String?, stats: Stats)>((nil, Stats()))

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
        enqueue(encoded, deadline: loop.monotonicNow() &+ UInt64(options.commandTimeoutMs) &* 1_000_000, completion)
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

    func connected() {
        loop.cancel(connectTimer); connectTimer = nil
        if interest == 0 {
            interest = Epoll.input | Epoll.readHangup
            loop.register(fd: fd, events: interest, handler: self)
        }
        shared.withLock { $0.stats.connects += 1 }
        // Handshake first, in front of whatever was queued while connecting.
        var hello = [UInt8]()
        var handlers: [Pending] = []
        let deadline = loop.monotonicNow() &+ UInt64(options.commandTimeoutMs) &* 1_000_000
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
    func connectionFailed(_ message: String, pendingError: RedisError? = nil) {
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
}
