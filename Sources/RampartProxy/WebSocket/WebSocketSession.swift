import RampartHTTP
import RampartLoop
import RampartTransport

/// One WebSocket after its 101: frames both ways between the client connection and the upstream
/// tunnel, each direction parsed as it streams (`WebSocketReader`) so the limits hold without
/// holding messages, with backpressure each way (a slow reader pauses the other side's socket).
/// Rampart speaks on the socket only to keep it honest: pings to a silent side, and a close
/// frame of its own (1009 too big, 1002 broken framing, 1001 idle or shutdown, 1008 session
/// limit or budget) sent at a frame boundary, after which a grace period lets the peers answer.
final class WebSocketSession: TunnelPeer {
    private var exchange: ProxyExchange?
    private let client: any ClientStream
    private let upstream: UpstreamTunnel
    private let config: WebSocketConfig
    private let route: String
    private let loop: EventLoop
    private let metrics: WebSocketMetrics
    /// Frames from the client, toward the upstream; and from the upstream, toward the client.
    private var fromClient: WebSocketReader
    private var fromUpstream: WebSocketReader
    /// Realtime AI usage read from the upstream's `response.done` events.
    private let usage: RealtimeUsage?

    private let opened: UInt64
    private var lastFromClient: UInt64
    private var lastFromUpstream: UInt64
    private var lastPingToClient: UInt64 = 0
    private var lastPingToUpstream: UInt64 = 0
    private lazy var timer: LoopTimer = loop.makeTimer { [unowned self] in tick() }

    /// The first close code seen on the wire or sent by Rampart (1006 when none).
    private(set) var closeCode: UInt16?
    /// Rampart's own close, waiting for each direction's frame boundary.
    private var closeToClient: [UInt8]?
    private var closeToUpstream: [UInt8]?
    private var closingSince: UInt64?
    private var finished = false
    private(set) var bytesIn = 0
    private(set) var bytesOut = 0

    static let closeGraceNs: UInt64 = 5_000_000_000

    init(exchange: ProxyExchange, client: any ClientStream, upstream: UpstreamTunnel, config: WebSocketConfig,
         compressed: Bool, usage: RealtimeUsage?) {
        self.exchange = exchange; self.client = client; self.upstream = upstream; self.config = config
        self.usage = usage
        let ctx = exchange.ctx
        route = ctx.route.name
        loop = ctx.server.loop
        metrics = ctx.server.state.metrics.webSockets
        fromClient = WebSocketReader(parser: WebSocketFrameParser(sender: .client, maxMessageBytes: config.maxMessageBytes, allowsRSV1: compressed))
        fromUpstream = WebSocketReader(parser: WebSocketFrameParser(sender: .server, maxMessageBytes: config.maxMessageBytes, allowsRSV1: compressed),
                                       captureText: usage != nil)
        opened = loop.now
        lastFromClient = opened; lastFromUpstream = opened
    }

    func start() {
        metrics.opened(route: route)
        upstream.start(peer: self)
        armTimer()
    }

    // MARK: Client → upstream

    func clientBytes(_ bytes: UnsafeRawBufferPointer) {
        guard !finished else { return }
        lastFromClient = loop.now
        var frames = 0, paused = false
        var failure: (WebSocketCloseCode, String)?
        let upstream = self.upstream
        // The reader is mid-call here: what it reports is acted on once it returns.
        fromClient.read(bytes, forward: { chunk in
            if upstream.send(chunk) == .pause { paused = true }
        }, event: { event in
            switch event {
            case .frame: frames += 1
            case .close(let code): if closeCode == nil { closeCode = code }
            case .failure(let code, let why): failure = (code, why)
            case .frameEnded, .text: break
            }
        })
        bytesIn += bytes.count
        metrics.relayed(route: route, direction: "client_to_upstream", frames: frames, bytes: bytes.count)
        if let failure { failed(failure.0, failure.1) }
        if fromClient.parser.atFrameBoundary, let frame = closeToUpstream { closeToUpstream = nil; upstream.send(frame) }
        if paused { client.pauseRequestBody() }
    }

    func tunnelWritable() { client.resumeRequestBody() }

    // MARK: Upstream → client

    func tunnelBytes(_ bytes: UnsafeRawBufferPointer) -> Flow {
        guard !finished else { return .proceed }
        lastFromUpstream = loop.now
        var frames = 0, flow = Flow.proceed
        var failure: (WebSocketCloseCode, String)?
        var messages: [[UInt8]] = []
        let client = self.client
        fromUpstream.read(bytes, forward: { chunk in
            if client.sendBody(chunk) == .pause { flow = .pause }
        }, event: { event in
            switch event {
            case .frame: frames += 1
            case .close(let code): if closeCode == nil { closeCode = code }
            case .failure(let code, let why): failure = (code, why)
            case .text(let message): messages.append(message)
            case .frameEnded: break
            }
        })
        bytesOut += bytes.count
        metrics.relayed(route: route, direction: "upstream_to_client", frames: frames, bytes: bytes.count)
        if let failure { failed(failure.0, failure.1) }
        for m in messages { usage?.message(m, session: self) }
        if fromUpstream.parser.atFrameBoundary, let frame = closeToClient { closeToClient = nil; client.sendBody(frame) }
        return flow
    }

    func clientWritable() { upstream.resumeReading() }

    // MARK: Ending

    /// The upstream closed: what it sent is on its way to the client, then the client's connection closes.
    func tunnelClosed(_ error: String?) {
        guard !finished else { return }
        client.endResponse()
        finish(error: error.map { "upstream: " + $0 })
    }

    /// The client closed its connection: what it sent goes on to the upstream, then that closes too.
    func clientClosed() {
        guard !finished else { return }
        upstream.closeAfterFlush()
        finish(error: nil)
    }

    /// A peer broke the protocol or a limit: its frame went nowhere; both sides are told why.
    private func failed(_ code: WebSocketCloseCode, _ why: String) {
        close(code, reason: code == .messageTooBig ? "message too big" : "protocol error")
        exchange?.ctx.logReason = why
    }

    /// Rampart closes the session: a close frame to each side at its next frame boundary (data
    /// stops there), then `closeGraceNs` for the peers to answer before the sockets are cut.
    func close(_ code: WebSocketCloseCode, reason: String) {
        guard !finished, closingSince == nil else { return }
        if closeCode == nil { closeCode = code.rawValue }
        closingSince = loop.now
        let toClient = WebSocketFrames.close(code, reason: reason, mask: nil)
        let toUpstream = WebSocketFrames.close(code, reason: reason, mask: UInt32.random(in: 0...UInt32.max))
        fromUpstream.stopAtBoundary = true
        fromClient.stopAtBoundary = true
        if fromUpstream.parser.atFrameBoundary { client.sendBody(toClient) } else { closeToClient = toClient }
        if fromClient.parser.atFrameBoundary { upstream.send(toUpstream) } else { closeToUpstream = toUpstream }
        armTimer()
    }

    /// Shutdown's deadline: the sockets close now, whatever is still in flight.
    func cut() {
        guard !finished else { return }
        client.abortResponse()
        upstream.close()
        finish(error: "cut at shutdown")
    }

    private func finish(error: String?) {
        guard !finished else { return }
        finished = true
        loop.disarm(timer)
        let code = closeCode ?? WebSocketCloseCode.abnormal.rawValue
        metrics.closed(route: route, code: code, seconds: Double(loop.now &- opened) / 1e9)
        let exchange = self.exchange
        self.exchange = nil
        exchange?.tunnelEnded(code: code, bytesIn: bytesIn, bytesOut: bytesOut, error: error)
    }

    // MARK: Keep-alive and limits

    private func tick() {
        guard !finished else { return }
        let now = loop.now
        if let since = closingSince {
            if now &- since >= Self.closeGraceNs { client.abortResponse(); upstream.close(); finish(error: "close grace period ended") }
            else { armTimer() }
            return
        }
        if now &- opened >= config.maxSession.nanoseconds { close(.policyViolation, reason: "session time limit"); return }
        if now &- min(lastFromClient, lastFromUpstream) >= config.idle.nanoseconds { close(.goingAway, reason: "idle timeout"); return }
        let ping = config.pingInterval.nanoseconds
        if now &- max(lastFromClient, lastPingToClient) >= ping, fromUpstream.parser.atFrameBoundary {
            lastPingToClient = now
            client.sendBody(WebSocketFrames.ping(Self.pingPayload, mask: nil))
        }
        if now &- max(lastFromUpstream, lastPingToUpstream) >= ping, fromClient.parser.atFrameBoundary {
            lastPingToUpstream = now
            upstream.send(WebSocketFrames.ping(Self.pingPayload, mask: UInt32.random(in: 0...UInt32.max)))
        }
        armTimer()
    }

    private static let pingPayload = Array("rampart".utf8)

    /// The next instant something may be due: a ping, the idle limit, the session limit, the grace end.
    private func armTimer() {
        let now = loop.now
        var at: UInt64
        if let since = closingSince {
            at = since &+ Self.closeGraceNs
        } else {
            let ping = config.pingInterval.nanoseconds
            at = opened &+ config.maxSession.nanoseconds
            at = min(at, min(lastFromClient, lastFromUpstream) &+ config.idle.nanoseconds)
            at = min(at, max(lastFromClient, lastPingToClient) &+ ping)
            at = min(at, max(lastFromUpstream, lastPingToUpstream) &+ ping)
        }
        loop.arm(timer, at: max(at, now &+ 1_000_000))
    }
}
