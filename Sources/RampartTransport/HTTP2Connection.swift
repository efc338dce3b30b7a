import CLinux
import CNGHTTP2
import Glibc
import RampartHTTP
import RampartLoop

/// One HTTP/2 client connection (ALPN `h2` over TLS, or prior-knowledge `h2c`): the I/O shell of
/// an nghttp2 server session. nghttp2 does the framing, HPACK and flow control; Rampart maps each
/// request stream to one exchange (`HTTP2Stream` is its `ClientStream`), bounds what each stream
/// may hold, and ends the connection with GOAWAY on abuse (rapid reset, CONTINUATION, HPACK and
/// header-list bombs, ping and settings floods), each counted by kind.
public final class HTTP2Connection: EventHandler, DeferredFlush, ServedConnection, @unchecked Sendable {
    public let fd: Int32
    let loop: EventLoop
    let peerIP: [UInt8]
    let peerText: String
    let tls: TLSSession?
    let host: ConnectionHost
    let service: RequestService
    let settings: HTTP2Settings
    public let clientFacing = true
    private let keepaliveNs: UInt64
    /// `header_timeout_ms` for a header block begun and not ended; `body_timeout_ms` between a
    /// stream's upload bytes (the same limits as HTTP/1.1).
    let headerTimeoutNs: UInt64
    let bodyTimeoutNs: UInt64
    /// The HTTP/1.1 limits every request's head is held to, whatever its protocol.
    let limits: HTTPLimits
    /// When the header block being read began (HEADERS without END_HEADERS), nil between blocks.
    var headerBlockSince: UInt64?
    private lazy var watchTimer: LoopTimer = loop.makeTimer { [unowned(unsafe) self] in checkDeadlines() }

    var session: OpaquePointer!
    var streams: [Int32: HTTP2Stream] = [:]
    let readBuffer = ByteBuffer(capacity: 16 * 1024)
    let writeBuffer = ByteBuffer(capacity: 16 * 1024)
    private var readReady = true
    private var hangupSeen = false
    private var flushScheduled = false
    private(set) var closed = false
    /// Set by a callback when the client abused the protocol: the connection ends with GOAWAY.
    var abuse: HTTP2Abuse?
    private var abuseCounted = false
    private var draining = false
    /// Upload bytes handed to exchanges during a read, acknowledged (WINDOW_UPDATE) after it.
    var consumed: [(Int32, Int)] = []
    var resets = RateWindow(), pings = RateWindow(), settingsFrames = RateWindow()
    /// CONTINUATION frames of the header block being read.
    var continuations = 0
    private lazy var idleTimer: LoopTimer = loop.makeTimer { [unowned(unsafe) self] in idleTimedOut() }

    /// Queued output above which nghttp2 is not asked for more frames until the socket drains.
    static let outputHighWatermark = 512 * 1024

    package init(fd: Int32, peerIP: [UInt8], peerText: String, host: ConnectionHost, service: RequestService,
                 settings: HTTP2Settings, timeouts: HTTP1ServerMachine.Settings, tls: TLSSession?) {
        self.fd = fd; self.peerIP = peerIP; self.peerText = peerText; self.host = host; self.loop = host.loop
        self.service = service; self.settings = settings; self.tls = tls
        keepaliveNs = timeouts.keepaliveTimeoutNs; headerTimeoutNs = timeouts.headerTimeoutNs; bodyTimeoutNs = timeouts.bodyTimeoutNs
        limits = timeouts.limits
    }

    deinit {
        // The timers hold the connection unowned: one still armed would fire on freed memory.
        if idleTimer.isScheduled { loop.disarm(idleTimer) }
        if watchTimer.isScheduled { loop.disarm(watchTimer) }
        if session != nil { nghttp2_session_del(session) }
    }

    /// Takes over a connection whose first bytes (`initial`, the preface included) were read by the
    /// HTTP/1.1 shell before the protocol was known.
    package func start(initial: UnsafeRawBufferPointer) {
        session = HTTP2Callbacks.makeSession(for: self)
        var entries = [
            rampart_h2_setting(Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), UInt32(settings.maxConcurrentStreams)),
            rampart_h2_setting(Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), UInt32(settings.streamWindow)),
            rampart_h2_setting(Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), UInt32(settings.maxHeaderListBytes)),
            rampart_h2_setting(Int32(NGHTTP2_SETTINGS_HEADER_TABLE_SIZE.rawValue), 4096),
            // WebSocket over HTTP/2 (RFC 8441): the routes that take sockets take them here too.
            rampart_h2_setting(Int32(NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL.rawValue), 1),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        loop.register(fd: fd, events: Epoll.input | Epoll.output | Epoll.readHangup | Epoll.edgeTriggered, handler: self)
        host.connectionOpened(self)
        if !initial.isEmpty { receive(initial) }
        armIdleTimer()
        scheduleFlush()
        loop.deferToEndOfIteration { [self] in if !closed { readAvailable() } }
    }

    var isTLS: Bool { tls != nil }

    // MARK: Reading

    public func handleEvents(_ events: UInt32) {
        guard !closed else { return }
        if !writeBuffer.isEmpty || tls?.readWantsWrite == true { flush() }
        guard !closed, events & Epoll.readable != 0 else { return }
        readReady = true
        if events & Epoll.hangupOrError != 0 { hangupSeen = true }
        readAvailable()
    }

    private func readAvailable() {
        var rounds = 16
        var sawEOF = false
        while readReady && rounds > 0 && !closed {
            rounds -= 1
            readBuffer.reserveWritable(16 * 1024)
            let room = readBuffer.writableCount
            var n: Int
            if let tls {
                switch tls.read(into: readBuffer.writableTail, count: room) {
                case .bytes(let k): n = k
                case .wouldBlock: n = -1; readReady = false
                case .closed: n = 0
                }
            } else {
                n = Glibc.read(fd, readBuffer.writableTail, room)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { if errno != EAGAIN { sawEOF = true }; readReady = false }
                else if n > 0 && n < room && !hangupSeen { readReady = false }
            }
            if n == 0 { sawEOF = true; readReady = false }
            guard n > 0 else { break }
            readBuffer.didWrite(n)
            host.bytesIn(n)
            receive(readBuffer.readable)
            readBuffer.consume(readBuffer.readableCount)
        }
        if readBuffer.isEmpty { readBuffer.release() }
        if sawEOF { peerClosed(); return }
        if readReady && !closed { loop.deferToEndOfIteration { [self] in if !closed { readAvailable() } } }
    }

    /// Feeds nghttp2; then acknowledges the upload bytes exchanges took, and writes what it queued.
    private func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !closed, !bytes.isEmpty else { return }
        let rc = nghttp2_session_mem_recv(session, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
        if rc < 0 || abuse != nil {
            endForAbuse(abuse ?? HTTP2Abuse.of(Int32(truncatingIfNeeded: rc)))
            return
        }
        acknowledgeUploads()
        scheduleFlush()
    }

    func acknowledgeUploads() {
        for (id, n) in consumed { nghttp2_session_consume(session, id, n) }
        consumed.removeAll(keepingCapacity: true)
    }

    // MARK: Writing

    func scheduleFlush() {
        guard !flushScheduled, !closed else { return }
        flushScheduled = true
        loop.scheduleFlush(self)
    }

    public func flushDeferred() { flush() }

    func flush() {
        flushScheduled = false
        guard !closed else { return }
        if let tls, tls.readWantsWrite { tls.readWantsWrite = false; readReady = true }
        while true {
            // Frames from nghttp2 while the socket keeps up; a slow reader stops the asking.
            while writeBuffer.readableCount < Self.outputHighWatermark {
                var data: UnsafePointer<UInt8>?
                let n = nghttp2_session_mem_send(session, &data)
                if n < 0 { close(); return }
                if n == 0 { break }
                writeBuffer.append(UnsafeRawBufferPointer(start: data, count: n))
            }
            guard writeToSocket() else { return }
            if !writeBuffer.isEmpty || nghttp2_session_want_write(session) == 0 { break }
        }
        if writeBuffer.isEmpty {
            writeBuffer.release()
            if nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 { close(); return }
            if draining && streams.isEmpty { close(); return }
        }
        if readReady && !closed { loop.deferToEndOfIteration { [self] in if !closed { readAvailable() } } }
    }

    /// Writes what is queued; false when the connection broke (closed here).
    private func writeToSocket() -> Bool {
        while !writeBuffer.isEmpty {
            var n: Int
            if let tls {
                switch tls.write(writeBuffer.readable.baseAddress!, count: writeBuffer.readableCount) {
                case .bytes(let k): n = k
                case .wouldBlock: return true
                case .closed: n = -1
                }
            } else {
                n = Glibc.write(fd, writeBuffer.readable.baseAddress!, writeBuffer.readableCount)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN { return true }
            }
            if n <= 0 { peerClosed(); return false }
            writeBuffer.consume(n)
            host.bytesOut(n)
        }
        return true
    }

    // MARK: Ending

    /// GOAWAY (ENHANCE_YOUR_CALM, or PROTOCOL_ERROR for broken framing), counted by kind; the
    /// connection closes once it is written. Every open stream's exchange hears the client is gone.
    func endForAbuse(_ kind: HTTP2Abuse) {
        guard !closed else { return }
        if abuse == nil { abuse = kind }
        let code = kind == .protocolError ? NGHTTP2_PROTOCOL_ERROR : kind == .hpack ? NGHTTP2_COMPRESSION_ERROR : NGHTTP2_ENHANCE_YOUR_CALM
        nghttp2_session_terminate_session(session, code.rawValue)
        for stream in Array(streams.values) { stream.connectionEnded() }
        streams.removeAll()
        flush()
        countAbuse(kind)   // when no GOAWAY could go out (a fatal session error), counted here
        if !closed { close() }
    }

    /// Counts the connection's abuse once, by kind.
    func countAbuse(_ kind: HTTP2Abuse) {
        guard !abuseCounted else { return }
        abuseCounted = true
        host.http2Abuse(kind.rawValue)
    }

    private func peerClosed() {
        for stream in Array(streams.values) { stream.connectionEnded() }
        streams.removeAll()
        close()
    }

    func close() {
        guard !closed else { return }
        closed = true
        loop.disarm(idleTimer)
        loop.disarm(watchTimer)
        loop.unregister(fd: fd)
        tls?.shutdown()
        Glibc.close(fd)
        host.connectionClosed(self)
    }

    /// Graceful shutdown: GOAWAY naming the last stream taken; those finish, the connection then closes.
    public func drain() {
        guard !closed, !draining else { return }
        draining = true
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session),
                              NGHTTP2_NO_ERROR.rawValue, nil, 0)
        scheduleFlush()
    }

    /// The drain deadline: every stream's exchange ends its response now.
    public func drainDeadlineReached() {
        guard !closed else { return }
        draining = true
        if streams.isEmpty { close(); return }
        for stream in Array(streams.values) { stream.exchange?.drainDeadlineReached() }
        scheduleFlush()
    }

    /// A stream ended (nghttp2 closed it): the connection idles toward `keepalive_timeout_ms`.
    func streamClosed(_ id: Int32) {
        streams.removeValue(forKey: id)
        if streams.isEmpty { if draining { scheduleFlush() } else { armIdleTimer() } }
    }

    /// Never after `close`: the timers hold the connection unowned, so one armed on a closed
    /// connection would fire on freed memory once the connection is gone (the h2-connection fuzz
    /// target found a stream closing after its connection did).
    private func armIdleTimer() { if keepaliveNs > 0 && !closed { loop.arm(idleTimer, at: loop.now &+ keepaliveNs) } }

    // MARK: Slow clients

    /// Something may time out (a header block began, an upload started): checks run every second
    /// while anything does.
    func watch() {
        if !watchTimer.isScheduled && !closed { loop.arm(watchTimer, at: loop.now &+ 1_000_000_000) }
    }

    /// A header block left unfinished past `header_timeout_ms` holds the whole connection (no other
    /// frame may come between its pieces): the connection ends. An upload silent past
    /// `body_timeout_ms` gets its exchange's 408, or a reset when a response already started.
    private func checkDeadlines() {
        guard !closed else { return }
        let now = loop.now
        if let since = headerBlockSince, now &- since >= headerTimeoutNs {
            host.connectionTimedOut("header")
            nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR.rawValue)
            for stream in Array(streams.values) { stream.connectionEnded() }
            streams.removeAll()
            flush()
            if !closed { close() }
            return
        }
        var watching = headerBlockSince != nil
        for stream in Array(streams.values) where stream.uploading {
            if now &- stream.lastUpload >= bodyTimeoutNs { stream.uploadTimedOut() } else { watching = true }
        }
        if watching { watch() }
    }

    private func idleTimedOut() {
        guard !closed, streams.isEmpty else { return }
        drain()
    }
}

/// A connection a host tracks for the drain: HTTP/1.1 (`HTTPConnection`) or HTTP/2.
public protocol ServedConnection: AnyObject {
    /// Of the main listener (counted in `max_connections` and drained), not admin or metrics.
    var clientFacing: Bool { get }
    func drain()
    func drainDeadlineReached()
}

/// Counts events in fixed 10-second windows (resets, pings, settings per connection).
struct RateWindow {
    private var start: UInt64 = 0
    private var count = 0
    /// Counts one event at `now`; true when the window's count went over `limit`.
    mutating func exceeds(_ limit: Int, now: UInt64) -> Bool {
        if now &- start >= 10_000_000_000 { start = now; count = 0 }
        count += 1
        return count > limit
    }
}

/// How a connection that may speak HTTP/2 says which: ALPN on TLS, the preface in cleartext.
enum HTTP2Preface {
    static let bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum Choice { case http2, http1, undecided }

    static func choose(tls: TLSSession?, buffered: UnsafeRawBufferPointer) -> Choice {
        if let tls { return tls.negotiatedH2 ? .http2 : .http1 }
        let n = min(buffered.count, bytes.count)
        guard buffered.prefix(n).elementsEqual(bytes.prefix(n)) else { return .http1 }
        return n == bytes.count ? .http2 : .undecided
    }
}
