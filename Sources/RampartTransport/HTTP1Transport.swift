import CLinux
import RampartLoop
import Glibc
import Foundation
import RampartHTTP

/// Rampart's own HTTP/1.1 client for plain `http://` upstreams, on the loop's sockets: no URL
/// parsing, header re-formatting or general-purpose machinery per request (measured: libcurl alone
/// costs about 20 µs of CPU per request). Keep-alive pool per upstream address. Host names are
/// resolved on helper threads and cached per loop (`HostCache`). libcurl remains the transport
/// for `https://` and HTTP/2.
public final class HTTP1Transport: UpstreamTransport {
    let loop: EventLoop
    @exclusivity(unchecked) private var idle: [String: IdlePool] = [:]
    /// The last pool used: a gateway mostly talks to one or two upstreams, and comparing the same
    /// key String again is a pointer comparison where a dictionary lookup hashes every byte.
    @exclusivity(unchecked) private var lastKey = ""
    @exclusivity(unchecked) private var lastPool: IdlePool?
    private var hosts = HostCache<HTTP1Call>()
    static let maxIdlePerUpstream = 256
    static let idleTimeoutNs: UInt64 = 60_000_000_000
    /// Idle connections are swept on one timer instead of one timer each: a request that returns
    /// its connection to the pool then schedules nothing. A connection goes 60–65 s after its
    /// last use (or at once when the upstream closes it).
    static let sweepEveryNs: UInt64 = 5_000_000_000
    private lazy var sweepTimer: LoopTimer = loop.makeTimer { [unowned self] in sweepIdle() }

    public init(loop: EventLoop) { self.loop = loop }

    /// Client TLS contexts for `https://` tunnels, made on first use: verifying, and not.
    private var tlsContexts: [Bool: TLSContext] = [:]

    func tlsSession(fd: Int32, endpoint: UpstreamEndpoint) -> TLSSession? {
        let verify = endpoint.tlsVerify
        if tlsContexts[verify] == nil { tlsContexts[verify] = TLSContext.client(verify: verify) }
        guard let context = tlsContexts[verify] else { return nil }
        return TLSSession(clientOf: context, fd: fd, host: endpoint.host, verify: verify)
    }

    public func start(_ request: UpstreamRequest, handler: UpstreamResponseHandler) -> UpstreamCall {
        let call = HTTP1Call(transport: self, request: request, handler: handler)
        call.begin()
        return call
    }

    // MARK: Host names

    /// Where a call to a host name stands: `name` is `host:port`.
    func lookup(_ name: String, host: String, port: UInt16, for call: HTTP1Call) -> HostCache<HTTP1Call>.Lookup {
        let decision = hosts.lookup(name, nowMs: loop.now / 1_000_000, waiter: call)
        switch decision {
        case .ready(_, refresh: true), .wait(resolve: true): resolveInBackground(name, host: host, port: port)
        default: break
        }
        return decision
    }

    func nextAddress(_ name: String) -> SocketAddressBytes? { hosts.nextAddress(name) }

    /// getaddrinfo on a short-lived thread (a lookup per name per refresh period, so rare), then
    /// back on this loop with the answer.
    private func resolveInBackground(_ name: String, host: String, port: UInt16) {
        let back = LoopBound(self, on: loop)
        let loop = self.loop
        let thread = Thread {
            let result = SocketAddressBytes.resolveAll(host: host, port: port)
            loop.execute { back.value.resolved(name, result) }
        }
        thread.name = "rampart-upstream-dns"
        thread.start()
    }

    private func resolved(_ name: String, _ result: Result<[SocketAddressBytes], ResolveError>) {
        let outcome = hosts.resolved(name, result, nowMs: loop.now / 1_000_000)
        if let old = outcome.retiredPoolKey {
            for s in idle[old]?.sockets ?? [] { s.close() }
            forgetPool(old)
        }
        for call in outcome.waiters {
            if let error = outcome.error { call.hostFailed(error) } else { call.hostReady(poolKey: outcome.poolKey) }
        }
    }

    // MARK: Pool

    /// The idle connections to one upstream address, most recently used last.
    final class IdlePool { @exclusivity(unchecked) var sockets: [UpstreamSocket] = [] }

    private func pool(_ key: String, create: Bool) -> IdlePool? {
        if let lastPool, key == lastKey { return lastPool }
        var p = idle[key]
        if p == nil && create { p = IdlePool(); idle[key] = p }
        if let p { lastKey = key; lastPool = p }
        return p
    }

    private func forgetPool(_ key: String) {
        idle.removeValue(forKey: key)
        if key == lastKey { lastPool = nil; lastKey = "" }
    }

    func takeIdle(_ key: String) -> UpstreamSocket? {
        guard let p = pool(key, create: false) else { return nil }
        while let s = p.sockets.popLast() {
            if s.isUsable(now: loop.now) { return s }
            s.close()
        }
        return nil
    }

    func putIdle(_ socket: UpstreamSocket, key: String) {
        let p = pool(key, create: true)!
        guard p.sockets.count < Self.maxIdlePerUpstream else { socket.close(); return }
        socket.owner = nil
        socket.poolKey = key
        socket.pool = self
        socket.idleSince = loop.now
        p.sockets.append(socket)
        if !sweepTimer.isScheduled { loop.arm(sweepTimer, at: loop.now &+ Self.sweepEveryNs) }
    }

    func dropIdle(_ socket: UpstreamSocket, key: String) {
        pool(key, create: false)?.sockets.removeAll { $0 === socket }
        socket.close()
    }

    /// Closes connections idle for longer than the limit; runs while the pool holds any.
    private func sweepIdle() {
        let cutoff = loop.now &- Self.idleTimeoutNs
        var left = 0
        for (key, p) in idle {
            p.sockets.removeAll { s in
                guard s.idleSince <= cutoff else { return false }
                s.close()
                return true
            }
            if p.sockets.isEmpty { forgetPool(key) } else { left += p.sockets.count }
        }
        if left > 0 { loop.arm(sweepTimer, at: loop.now &+ Self.sweepEveryNs) }
    }
}

/// One TCP connection to an upstream. While a call uses it, readiness goes to the call; while it
/// sits in the pool, any readiness means the upstream closed it (or misbehaved) and it is dropped.
final class UpstreamSocket: EventHandler {
    let fd: Int32
    let loop: EventLoop
    /// The call using the socket. unowned(unsafe): a call always clears it (pool return or close)
    /// before it goes away, and a weak reference would slow every retain of the call.
    unowned(unsafe) var owner: HTTP1Call?
    /// After a 101, the tunnel that holds the socket (strong: the loop's registration keeps the
    /// socket, the socket its tunnel, until the tunnel closes it).
    var tunnel: UpstreamTunnel?
    /// TLS over the socket (an `https://` tunnel); nil for plain connections.
    var tls: TLSSession?
    /// When the socket last went back to the pool (loop clock).
    var idleSince: UInt64 = 0
    unowned(unsafe) var pool: HTTP1Transport?
    var poolKey: String?
    var reused = false
    /// Response bytes read and not yet parsed; kept with the connection across the requests it
    /// carries, so a pooled request allocates no buffer.
    let input = ByteBuffer(capacity: 16 * 1024)
    /// Edge-triggered readiness, remembered between events (see `HTTPConnection.readReady`).
    var readReady = false
    var hangupSeen = false
    private(set) var closed = false

    init(fd: Int32, loop: EventLoop) {
        self.fd = fd; self.loop = loop
        // Registered once for both directions: a request then changes no epoll interest.
        loop.register(fd: fd, events: Epoll.output | Epoll.input | Epoll.readHangup | Epoll.edgeTriggered, handler: self)
    }

    /// Opens a non-blocking connection; completion is signalled by writability. nil with errno set
    /// when the connect fails at once.
    static func connect(to address: SocketAddressBytes, loop: EventLoop) -> UpstreamSocket? {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = address.bytes.withUnsafeBytes { raw in
            Glibc.connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if rc != 0 && errno != EINPROGRESS { let e = errno; Glibc.close(fd); errno = e; return nil }
        return UpstreamSocket(fd: fd, loop: loop)
    }

    /// Whether a pooled connection can carry a request. An upstream's close while the connection
    /// sat in the pool arrives as an event that drops it; one idle for over a second is also
    /// probed, since servers time idle connections out (a request that still meets a dead one is
    /// replayed once on a fresh connection by `HTTP1ClientMachine`).
    func isUsable(now: UInt64) -> Bool {
        guard !closed, !readReady else { return false }
        guard now &- idleSince > 1_000_000_000 else { return true }
        var probe: UInt8 = 0
        let r = recv(fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    func handleEvents(_ events: UInt32) {
        if events & Epoll.readable != 0 {
            readReady = true
            if events & Epoll.hangupOrError != 0 { hangupSeen = true }
        }
        if let owner { owner.socketReady(events); return }
        if let tunnel { tunnel.socketReady(events); return }
        // Idle in the pool: input means the upstream closed it (or sent junk). Drop it.
        guard readReady else { return }
        if let pool, let poolKey { pool.dropIdle(self, key: poolKey) } else { close() }
    }

    /// The pending connect's outcome (0 = connected).
    var connectError: Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        return err
    }

    /// Reads like read(2): bytes, 0 at the end of the stream, -1 with errno (EAGAIN: nothing now).
    @inline(__always) func read(_ into: UnsafeMutableRawPointer, _ count: Int) -> Int {
        guard let tls else { return Glibc.read(fd, into, count) }
        switch tls.read(into: into, count: count) {
        case .bytes(let n): return n
        case .wouldBlock: errno = EAGAIN; return -1
        case .closed: return 0
        }
    }

    enum Fill { case bytes, wouldBlock, ended(Int32) }

    /// One read into `input` (room for 64 KiB made first), keeping `readReady` true only while the
    /// socket may hold more: `.ended` carries errno, 0 for the peer's end of stream.
    @inline(__always) func fill(_ input: ByteBuffer) -> Fill {
        while true {
            input.reserveWritable(64 * 1024)
            let room = input.writableCount
            let n = read(input.writableTail, room)
            if n > 0 {
                input.didWrite(n)
                // A short read emptied the socket, unless a FIN is pending behind the bytes (TLS
                // hands out a record at a time: it reads on until it would block).
                if n < room && !hangupSeen && tls == nil { readReady = false }
                return .bytes
            }
            if n < 0 && errno == EINTR { continue }
            readReady = false
            return n < 0 && errno == EAGAIN ? .wouldBlock : .ended(n == 0 ? 0 : errno)
        }
    }

    /// Writes like send(2) without SIGPIPE: bytes, or -1 with errno (EAGAIN: try at the next edge).
    @inline(__always) func send(_ from: UnsafeRawPointer, _ count: Int) -> Int {
        guard let tls else { return Glibc.send(fd, from, count, Int32(MSG_NOSIGNAL)) }
        switch tls.write(from, count: count) {
        case .bytes(let n): return n
        case .wouldBlock: errno = EAGAIN; return -1
        case .closed: errno = ECONNRESET; return -1
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        tunnel = nil
        tls?.shutdown()
        owner = nil; poolKey = nil
        loop.unregister(fd: fd)
        Glibc.close(fd)
    }
}
