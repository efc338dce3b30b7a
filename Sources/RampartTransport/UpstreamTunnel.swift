import CLinux
import Glibc
import RampartLoop
import RampartHTTP

/// Hears an upstream tunnel's bytes and its end. All calls on the tunnel's loop.
public protocol TunnelPeer: AnyObject {
    /// Bytes from the upstream, valid during the call; `.pause` stops reading until `resumeReading`.
    func tunnelBytes(_ bytes: UnsafeRawBufferPointer) -> Flow
    /// The send queue drained below the low watermark after `send` answered `.pause`.
    func tunnelWritable()
    /// The upstream closed or broke the connection (nil: a clean end of stream).
    func tunnelClosed(_ error: String?)
}

/// An upstream connection after `101 Switching Protocols`: bytes both ways, unparsed here, with
/// backpressure each way (the WebSocket relay above parses the frames). The socket stays
/// registered once, edge-triggered, as while it carried the handshake.
public final class UpstreamTunnel: DeferredFlush {
    let socket: UpstreamSocket
    private var loop: EventLoop { socket.loop }
    public weak var peer: TunnelPeer?
    private let out = ByteBuffer(capacity: 4096)
    private var readPaused = false
    private var waitingForWritable = false
    private var flushScheduled = false
    private var closeWhenFlushed = false
    public private(set) var closed = false

    static let highWatermark = 256 * 1024
    static let lowWatermark = 64 * 1024

    init(socket: UpstreamSocket) {
        self.socket = socket
        socket.owner = nil
        socket.tunnel = self
    }

    /// Starts delivering to `peer`, first the bytes that came with the 101.
    public func start(peer: TunnelPeer) {
        self.peer = peer
        loop.deferToEndOfIteration { [self] in
            guard !closed else { return }
            deliverBuffered()
            if !readPaused && !closed { readAvailable() }
        }
    }

    func socketReady(_ events: UInt32) {
        guard !closed else { return }
        if !out.isEmpty || socket.tls?.readWantsWrite == true { flush() }
        if socket.readReady && !readPaused && !closed { readAvailable() }
    }

    // MARK: Upstream → peer

    private func readAvailable() {
        let input = socket.input
        var rounds = 8
        var ended: String?? = nil
        while socket.readReady && rounds > 0 && !readPaused {
            rounds -= 1
            switch socket.fill(input) {
            case .bytes:
                deliverBuffered()
                if closed { return }
            case .wouldBlock: break
            case .ended(let e): ended = .some(e == 0 ? nil : String(cString: strerror(e)))
            }
        }
        if let ended { finish(ended); return }
        if input.isEmpty { input.release() }
        if socket.readReady && !readPaused {
            loop.deferToEndOfIteration { [self] in if !closed && !readPaused { readAvailable() } }
        }
    }

    private func deliverBuffered() {
        let input = socket.input
        guard !input.isEmpty, let peer else { return }
        let flow = peer.tunnelBytes(input.readable)
        input.consume(input.readableCount)
        if flow == .pause { readPaused = true }
    }

    /// The peer drained: read again (the socket may hold bytes no new edge will announce).
    public func resumeReading() {
        guard readPaused, !closed else { return }
        readPaused = false
        loop.deferToEndOfIteration { [self] in if !closed && !readPaused { readAvailable() } }
    }

    // MARK: Peer → upstream

    /// Queues bytes for the upstream; `.pause` above the high watermark (until `tunnelWritable`).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer) -> Flow {
        guard !closed, !closeWhenFlushed else { return .proceed }
        out.append(bytes)
        if !flushScheduled { flushScheduled = true; loop.scheduleFlush(self) }
        if out.readableCount >= Self.highWatermark { waitingForWritable = true; return .pause }
        return .proceed
    }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Flow { bytes.withUnsafeBytes { send($0) } }

    public func flushDeferred() { flush() }

    private func flush() {
        flushScheduled = false
        guard !closed else { return }
        if let tls = socket.tls, tls.readWantsWrite { tls.readWantsWrite = false; socket.readReady = true }
        while !out.isEmpty {
            let n = socket.send(out.readable.baseAddress!, out.readableCount)
            if n > 0 { out.consume(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            finish(String(cString: strerror(errno))); return
        }
        if out.isEmpty {
            out.release()
            if closeWhenFlushed { finish(nil, notify: false); return }
        }
        if waitingForWritable && out.readableCount <= Self.lowWatermark {
            waitingForWritable = false
            peer?.tunnelWritable()
        }
        if socket.readReady && !readPaused && !closed {
            loop.deferToEndOfIteration { [self] in if !closed && !readPaused { readAvailable() } }
        }
    }

    // MARK: Ending

    /// Closes once the queued bytes are written (the peer's side ended first).
    public func closeAfterFlush() {
        guard !closed else { return }
        if out.isEmpty { finish(nil, notify: false) } else { closeWhenFlushed = true; readPaused = true }
    }

    /// Closes now; the peer hears nothing more.
    public func close() { finish(nil, notify: false) }

    private func finish(_ error: String?, notify: Bool = true) {
        guard !closed else { return }
        closed = true
        let peer = self.peer
        self.peer = nil
        socket.close()
        if notify { peer?.tunnelClosed(error) }
    }
}
