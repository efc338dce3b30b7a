import CCurl
import RampartLoop
import Glibc
import RampartHTTP

/// libcurl's multi socket interface driven by one of our event loops (curl's ephiperfifo.c pattern):
/// curl tells us which sockets to watch and when to time out; the loop tells curl what happened.
/// No thread per request and no blocking call on the loop.
public final class CurlTransport: UpstreamTransport {
    package let loop: EventLoop
    package let multi: UnsafeMutableRawPointer
    private var timer: LoopTimer?
    private var watched: [Int32: CurlSocketWatch] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []

    /// Call once per process before any thread starts (curl_global_init is not thread-safe).
    public static func globalInit() { curl_global_init(Int(CURL_GLOBAL_ALL)) }

    public init(loop: EventLoop) {
        self.loop = loop
        multi = curl_multi_init()
        let me = Unmanaged.passUnretained(self).toOpaque()
        rampart_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, me)
        rampart_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, me)
        rampart_multi_setopt_socketcb(multi) { _, fd, what, userp, _ in
            Unmanaged<CurlTransport>.fromOpaque(userp!).takeUnretainedValue().watch(fd: fd, what: what)
            return 0
        }
        rampart_multi_setopt_timercb(multi) { _, ms, userp in
            Unmanaged<CurlTransport>.fromOpaque(userp!).takeUnretainedValue().armTimer(ms: ms)
            return 0
        }
        // Keep plenty of idle keep-alive connections per loop: reuse is most of the speed.
        rampart_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 512)
    }

    public func start(_ request: UpstreamRequest, handler: UpstreamResponseHandler) -> UpstreamCall {
        let easy = idleHandles.popLast() ?? curl_easy_init()!
        let call = CurlCall(easy: easy, transport: self, handler: handler, request: request)
        call.configure()
        let rc = curl_multi_add_handle(multi, easy)
        if rc != CURLM_OK {
            // Report asynchronously so the handler never sees a callback before start() returns.
            loop.deferToEndOfIteration { call.fail(.connectFailed("curl_multi_add_handle: \(rc.rawValue)")) }
        }
        return call
    }

    // MARK: curl → loop

    private func watch(fd: Int32, what: Int32) {
        if what == CURL_POLL_REMOVE {
            if watched.removeValue(forKey: fd) != nil { loop.unregister(fd: fd) }
            return
        }
        var events: UInt32 = 0
        if what & CURL_POLL_IN != 0 { events |= Epoll.input }
        if what & CURL_POLL_OUT != 0 { events |= Epoll.output }
        if watched[fd] != nil {
            loop.modify(fd: fd, events: events)
        } else {
            let w = CurlSocketWatch(fd: fd, transport: self)
            watched[fd] = w
            loop.register(fd: fd, events: events, handler: w)
        }
    }

    private func armTimer(ms: Int) {
        loop.cancel(timer)
        timer = nil
        guard ms >= 0 else { return }
        timer = loop.schedule(afterMs: ms) { [unowned self] in
            self.timer = nil
            self.socketAction(fd: CURL_SOCKET_TIMEOUT, events: 0)
        }
    }

    // MARK: loop → curl

    func socketAction(fd: Int32, events: UInt32) {
        var flags: Int32 = 0
        if events & (Epoll.input | Epoll.hangup) != 0 { flags |= CURL_CSELECT_IN }
        if events & Epoll.output != 0 { flags |= CURL_CSELECT_OUT }
        if events & Epoll.error != 0 { flags |= CURL_CSELECT_ERR }
        var running: Int32 = 0
        curl_multi_socket_action(multi, fd, flags, &running)
        drainMessages()
    }

    /// Completed transfers: hand each result to its call.
    func drainMessages() {
        var left: Int32 = 0
        while let msg = curl_multi_info_read(multi, &left) {
            guard rampart_msg_done(msg) != 0, let easy = rampart_msg_easy(msg) else { continue }
            let result = rampart_msg_result(msg)
            var priv: UnsafeMutableRawPointer?
            rampart_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &priv)
            guard let priv else { continue }
            Unmanaged<CurlCall>.fromOpaque(priv).takeUnretainedValue().completed(result)
        }
    }

    /// Returns a handle to the pool (connections stay in the multi's cache either way).
    func recycle(_ easy: UnsafeMutableRawPointer) {
        curl_multi_remove_handle(multi, easy)
        if idleHandles.count < 256 {
            curl_easy_reset(easy)
            idleHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }
}

/// Forwards epoll readiness of one curl-owned socket to the multi handle.
final class CurlSocketWatch: EventHandler {
    package let fd: Int32
    package unowned let transport: CurlTransport
    package init(fd: Int32, transport: CurlTransport) { self.fd = fd; self.transport = transport }
    package func handleEvents(_ events: UInt32) { transport.socketAction(fd: fd, events: events) }
}
