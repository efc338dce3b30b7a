import CLinux
import RampartHTTP

/// One proxied request: streams the client's body to the upstream and the upstream's response to
/// the client, with backpressure both ways and the timeouts of SPEC §7.1 (written here once, for
/// every transport).
final class ProxyExchange: ServerExchange, UpstreamResponseHandler {
    private let context: ServerContext
    private unowned let connection: HTTPConnection
    private let head: HTTPRequestHead
    private let route: RouteConfig
    private let upstream: UpstreamConfig
    private let headersConfig: HeadersConfig
    private let trustedProxies: [CIDR]
    private let requestID: String
    private let bodyLimit: Int
    private let started: UInt64

    private var call: UpstreamCall?
    private var bodyBytesIn = 0
    private var bodyBytesOut = 0
    private var upstreamStatus: Int?
    private var upstreamHeadAt: UInt64?
    private var responseStarted = false
    private var isEventStream = false
    private var finished = false
    private var timeoutTimer: LoopTimer?
    private var lastUpstreamActivity: UInt64 = 0
    private var phase = Phase.awaitingHead

    private enum Phase { case awaitingHead, streaming }

    init(context: ServerContext, connection: HTTPConnection, head: HTTPRequestHead, route: RouteConfig,
         upstream: UpstreamConfig, headersConfig: HeadersConfig, trustedProxies: [CIDR],
         requestID: String, bodyLimit: Int, started: UInt64) {
        self.context = context; self.connection = connection; self.head = head; self.route = route
        self.upstream = upstream; self.headersConfig = headersConfig; self.trustedProxies = trustedProxies
        self.requestID = requestID; self.bodyLimit = bodyLimit; self.started = started
    }

    func start() {
        let body: UpstreamRequest.BodyLength
        switch head.framing {
        case .none: body = .none
        case .contentLength(let n): body = .known(n)
        case .chunked: body = .streamed
        }
        let headers = ForwardingHeaders.upstreamRequestHeaders(
            head, peerIP: connection.peerIP, peerText: connection.peerText, trustedProxies: trustedProxies,
            requestID: requestID, upstream: upstream, tls: connection.isTLS)
        let request = UpstreamRequest(upstream: upstream, method: head.method, target: upstream.basePath + head.target,
                                      headers: headers, body: body, connectTimeoutMs: route.timeouts.connect.milliseconds)
        context.state.metrics.inFlight.add(1, ordering: .relaxed)
        lastUpstreamActivity = context.loop.now
        armTimeout()
        call = context.transport.start(request, handler: self)
        connection.sendContinueIfExpected()
    }

    // MARK: Client → upstream

    func requestBody(_ bytes: UnsafeRawBufferPointer) {
        guard !finished, let call else { return }
        bodyBytesIn += bytes.count
        if bodyBytesIn > bodyLimit {
            fail(with: GatewayError(status: 413, code: "PAYLOAD_TOO_LARGE", message: "Request body over \(bodyLimit) bytes"), cause: nil)
            return
        }
        if !call.appendBody(bytes) { connection.pauseReading() }
    }

    func requestBodyEnded() {
        guard !finished else { return }
        call?.endBody()
        // first_byte counts from the end of the request: a long upload is the client's time.
        lastUpstreamActivity = context.loop.now
    }

    func upstreamWantsBody() { connection.resumeReading() }

    // MARK: Upstream → client

    func upstreamHead(_ upstreamHead: HTTPResponseHead) {
        guard !finished else { return }
        let now = context.loop.now
        upstreamHeadAt = now
        upstreamStatus = upstreamHead.status
        lastUpstreamActivity = now
        phase = .streaming
        context.loop.cancel(timeoutTimer)
        armTimeout()   // the idle limit replaces first_byte from here on
        context.metrics.recordUpstream(upstream.name, seconds: Double(now &- started) / 1e9)

        // Response policies: hop-by-hop hygiene, Via and id, SSE hints, security headers.
        var headers = ForwardingHeaders.clientResponseHeaders(upstreamHead.headers, requestID: requestID)
        if let type = headers["Content-Type"], type.lowercased().hasPrefix("text/event-stream") {
            isEventStream = true
            headers.set("X-Accel-Buffering", "no")
        }
        SecurityHeaders.apply(headersConfig, to: &headers)
        responseStarted = true
        connection.sendHead(HTTPResponseHead(status: upstreamHead.status, headers: headers))
    }

    func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !finished else { return true }
        lastUpstreamActivity = context.loop.now
        bodyBytesOut += bytes.count
        return connection.sendBody(bytes)
    }

    func responseWritable() { call?.resume() }

    func upstreamFinished(_ failure: UpstreamFailure?) {
        call = nil
        guard !finished else { return }
        if let failure { fail(with: nil, cause: failure); return }
        finished = true
        connection.endResponse()
        complete(status: upstreamStatus ?? 502, error: nil)
    }

    func connectionClosed() {
        guard !finished else { return }
        finished = true
        call?.cancel(); call = nil
        complete(status: responseStarted ? (upstreamStatus ?? 499) : 499, error: "client_closed")
    }

    // MARK: Timeouts

    /// One timer per exchange, re-armed lazily: activity only moves a timestamp (cheap per chunk).
    private func armTimeout() {
        let now = context.loop.now
        let t = route.timeouts
        let totalDeadline = started &+ t.total.nanoseconds
        let phaseDeadline = lastUpstreamActivity &+ (phase == .awaitingHead ? t.firstByte : t.idle).nanoseconds
        let deadline = min(totalDeadline, phaseDeadline)
        if deadline <= now { timedOut(); return }
        timeoutTimer = context.loop.schedule(at: deadline) { [weak self] in self?.checkTimeout() }
    }

    private func checkTimeout() {
        timeoutTimer = nil
        guard !finished else { return }
        armTimeout()
    }

    private func timedOut() {
        let now = context.loop.now
        let t = route.timeouts
        let kind: String
        if now &- started >= t.total.nanoseconds { kind = "total" }
        else { kind = phase == .awaitingHead ? "first_byte" : "idle" }
        context.metrics.timeout(kind: kind)
        call?.cancel(); call = nil
        fail(with: nil, cause: .timeout(kind))
    }

    // MARK: Ending

    /// Before the response started: a JSON error. After: SSE gets an `event: error`; other bodies
    /// are cut so the client sees a truncated message, never a clean end.
    private func fail(with gatewayError: GatewayError?, cause: UpstreamFailure?) {
        guard !finished else { return }
        finished = true
        call?.cancel(); call = nil
        if let cause {
            context.accessLog.event(.warn, "upstream exchange failed", [
                ("request_id", JSONText.quote(requestID)), ("upstream", JSONText.quote(upstream.name)),
                ("error", JSONText.quote(cause.description)), ("response_started", responseStarted ? "true" : "false")])
            context.metrics.upstreamError(upstream.name, kind: cause.metricKind)
            if cause == .connectTimeout { context.metrics.timeout(kind: "connect") }
        }
        let error = gatewayError ?? (cause?.isTimeout == true ? .gatewayTimeout() : .badGateway())
        if !responseStarted {
            let body = error.body(requestID: requestID)
            connection.sendHead(error.responseHead(requestID: requestID, headersConfig: headersConfig, bodyLength: body.count))
            _ = connection.sendBody(body)
            connection.endResponse()
            complete(status: error.status, error: cause?.description ?? error.code)
            return
        }
        context.metrics.streamError()
        if isEventStream {
            let data = JSONText.object([("type", "\"error\""), ("error", JSONText.object([
                ("code", JSONText.quote(error.code)), ("message", JSONText.quote(error.message)),
                ("request_id", JSONText.quote(requestID))]))])
            _ = connection.sendBody(SSEEncoder.encode(event: "error", data: data))
            connection.endResponse()
        } else {
            connection.abortResponse()
        }
        complete(status: upstreamStatus ?? error.status, error: cause?.description ?? error.code)
    }

    private func complete(status: Int, error: String?) {
        context.loop.cancel(timeoutTimer); timeoutTimer = nil
        context.state.metrics.inFlight.subtract(1, ordering: .relaxed)
        let seconds = Double(rampart_monotonic_ns() &- started) / 1e9
        context.metrics.recordRequest(route: route.name, status: status, seconds: seconds)
        context.accessLog.log(AccessRecord(
            requestID: requestID, method: head.method, path: head.path, route: route.name, user: nil,
            status: status, upstreamStatus: upstreamStatus, bytesIn: bodyBytesIn, bytesOut: bodyBytesOut,
            durationMs: seconds * 1000, upstreamMs: upstreamHeadAt.map { Double($0 &- started) / 1e6 },
            error: error, peer: connection.peerText))
    }
}

extension Duration {
    var milliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
    var nanoseconds: UInt64 { UInt64(max(0, components.seconds)) * 1_000_000_000 + UInt64(max(0, components.attoseconds) / 1_000_000_000) }
}
