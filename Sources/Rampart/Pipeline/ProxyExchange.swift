import CLinux
import Foundation
import RampartHTTP

/// One proxied request, start to end:
///   request stages (CORS, identity, quotas) → body stages if any (validation, truncation) →
///   transport (streaming both ways, with backpressure) → response stages (error scrubbing,
///   CORS and rate-limit headers, security headers).
/// The timeouts of SPEC §7.1 are enforced here once for every transport.
final class ProxyExchange: ServerExchange, UpstreamResponseHandler {
    let ctx: RequestContext
    let context: ServerContext
    /// Strong: with `continue_on_disconnect` the exchange outlives the client; a closed
    /// connection turns every send into a no-op. The connection drops its exchange when done.
    let connection: HTTPConnection
    var policies: RoutePolicies { ctx.plan.policies }
    var upstream: UpstreamConfig { _read { yield ctx.plan.upstream } }
    var headersConfig: HeadersConfig { _read { yield ctx.plan.headers } }
    var bodyLimit: Int { ctx.plan.bodyLimit }
    let started: UInt64

    enum Stage { case policies, bufferingBody, idempotencyCheck, proxying, intercepted, saving, done }
    var stage = Stage.policies
    var call: UpstreamCall?
    var bodyEnded = false
    var bufferedBody: [UInt8] = []
    var bodyBytesIn = 0
    var bodyBytesOut = 0
    var upstreamStatus: Int?
    var upstreamHeadAt: UInt64?
    var responseStarted = false
    var isEventStream = false
    /// The exchange's one timeout timer, made on first use and re-armed, never re-made.
    var timeoutTimer: LoopTimer?
    var lastUpstreamActivity: UInt64 = 0
    var awaitingHead = true
    /// The response filter that keeps the upstream's response from the client (error scrubbing).
    var interceptor: ResponseFilter?
    /// Held while the upstream exchange runs (`max_in_flight`).
    var inFlightSlot: InFlightCounter?
    /// Resilience: the request body kept for a retry (nil once it cannot be replayed), the retries
    /// made, whether this attempt is a half-open breaker probe, and the retry-budget slot held.
    var replayBody: [UInt8]? = []
    var retries = 0
    var isProbe = false
    var holdsRetrySlot = false
    var retryTimer: LoopTimer?
    var outcomeRecorded = false
    static let replayLimit = 1 << 20
    /// Idempotency (SPEC §7.4): the client's key on a route that honours them.
    lazy var idempotencyKey: String? = route.idempotency.flatMap { head.headers[$0.header] }
    /// The route's response filters for this request (usage), made when the response head arrives.
    var responseFilters: [any ResponseFilter] = []
    /// The response filter that holds the end of the response (a confirmed save, stage `.saving`).
    var endHolder: ResponseFilter?
    /// `continue_on_disconnect`: the client left but the save goes on.
    var clientGone = false
    var completed = false
    /// The message of Rampart's own error reply, for the access log's `reason`; and what cut a
    /// started stream (its `error`), kept for the save that still follows the cut.
    var errorMessage: String?
    var cutError: String?

    var hasBody: Bool { connection.requestHead.map { $0.framing != .none } ?? false }
    // Borrowed, not copied: a copy of a route or head retains each of its fields, and these are
    // read many times per request.
    var head: HTTPRequestHead { _read { yield ctx.head } }
    var route: RouteConfig { _read { yield ctx.route } }
    var requestID: String { ctx.requestID }
    var breakerName: String { ctx.plan.breakerName }

    init(ctx: RequestContext, connection: HTTPConnection, started: UInt64) {
        self.ctx = ctx; self.context = ctx.server; self.connection = connection; self.started = started
    }

    func start() {
        context.state.metrics.inFlight.add(1, ordering: .relaxed)
        if policies.request.isEmpty { afterRequestPolicies(); return }
        // Hold the body in the kernel until the stages have decided (they may wait on Redis).
        if hasBody { connection.pauseReading() }
        runRequestPolicy(0)
    }

    // MARK: Request stages

    func runRequestPolicy(_ i: Int) {
        guard stage == .policies else { return }
        if i == policies.request.count { afterRequestPolicies(); return }
        policies.request[i].evaluate(ctx) { [self] verdict in
            switch verdict {
            case .proceed: runRequestPolicy(i + 1)
            case .reject(let error): respondWithError(error, cause: nil)
            case .answer(let status, let extra): answerLocally(status: status, headers: extra)
            }
        }
    }

    func afterRequestPolicies() {
        guard stage == .policies else { return }
        if let key = idempotencyKey, key.isEmpty || key.utf8.count > 255 {
            respondWithError(GatewayError(status: 400, code: "BAD_REQUEST", message: "Idempotency keys are 1 to 255 characters long."), cause: nil)
            return
        }
        // An idempotent request is fingerprinted with its body, so the body is read first.
        if policies.body.isEmpty && idempotencyKey == nil {
            stage = .proxying
            startTransport(body: nil)
            if hasBody { connection.sendContinueIfExpected(); connection.resumeReading() }
        } else {
            stage = .bufferingBody
            if hasBody && !bodyEnded { connection.sendContinueIfExpected(); connection.resumeReading() }
            else { runBodyPolicies() }
        }
    }

    func runBodyPolicies() {
        var body = bufferedBody
        bufferedBody = []
        for p in policies.body {
            switch p.transform(body, ctx) {
            case .success(let next): body = next
            case .failure(let error): respondWithError(error, cause: nil); return
            }
        }
        if let key = idempotencyKey { checkIdempotency(key: key, body: body); return }
        stage = .proxying
        startTransport(body: body)
    }

    // MARK: Transport

    /// Starts the upstream exchange: streaming the client's body, or sending `body` whole when a
    /// body stage rewrote it. The circuit breaker is asked first: open → 503 CIRCUIT_OPEN, no
    /// upstream traffic at all.
    func startTransport(body: [UInt8]?) {
        let now = context.state.clock.now()
        switch context.state.breakers.admit(upstream: breakerName, now: now) {
        case .rejected(let retryAfter):
            respondWithError(GatewayError(status: 503, code: "CIRCUIT_OPEN",
                                          message: "The upstream \(upstream.name) is failing; requests are paused.",
                                          retryAfterSeconds: max(1, Int(retryAfter.rounded(.up)))), cause: nil)
            return
        case .probe: isProbe = true
        case .allowed: break
        }
        context.state.retryBudget(upstream: upstream.name).recordRequest(now: now)
        if let body { replayBody = body.count <= Self.replayLimit ? body : nil }
        let counter = context.state.inFlightCounter(upstream: upstream.name)
        guard counter.acquire(limit: upstream.maxInFlight) else {
            context.metrics.upstreamError(upstream.name, kind: "overloaded")
            respondWithError(GatewayError(status: 503, code: "OVERLOADED",
                                          message: "Too many requests are in flight to \(upstream.name); try again shortly.",
                                          retryAfterSeconds: 1), cause: nil)
            return
        }
        inFlightSlot = counter
        launchAttempt(body: body)
    }

    /// One attempt upstream; a retry calls it again with the kept body.
    func launchAttempt(body: [UInt8]?) {
        awaitingHead = true
        outcomeRecorded = false
        let length: UpstreamRequest.BodyLength
        if let body { length = body.isEmpty && !hasBody ? .none : .known(body.count) }
        else {
            switch head.framing {
            case .none: length = .none
            case .contentLength(let n): length = .known(n)
            case .chunked: length = .streamed
            }
        }
        var headers = ForwardingHeaders.upstreamRequestHeaders(
            head, peerIP: connection.peerIP, peerText: connection.peerText, trustedProxies: ctx.config.server.trustedProxies,
            requestID: requestID, upstream: upstream, tls: connection.isTLS)
        for name in ctx.stripUpstreamHeaders { headers.remove(name) }
        let request = UpstreamRequest(upstream: upstream, method: head.method, target: upstream.basePath + head.target,
                                      headers: headers, body: length, connectTimeoutMs: ctx.plan.deadlines.connectMs)
        lastUpstreamActivity = context.loop.now
        armTimeout()
        let call = context.transport.start(request, handler: self)
        self.call = call
        if let body {
            if !body.isEmpty { _ = body.withUnsafeBytes { call.appendBody($0) } }
            if hasBody || !body.isEmpty { call.endBody() }
        } else if bodyEnded {
            call.endBody()
        }
    }

    // MARK: Client → upstream

    func requestBody(_ bytes: UnsafeRawBufferPointer) {
        bodyBytesIn += bytes.count
        if bodyBytesIn > bodyLimit {
            respondWithError(GatewayError(status: 413, code: "PAYLOAD_TOO_LARGE", message: "The request body is over \(bodyLimit) bytes."), cause: nil)
            return
        }
        switch stage {
        case .bufferingBody: bufferedBody.append(contentsOf: bytes)
        case .proxying:
            if replayBody != nil {
                if replayBody!.count + bytes.count <= Self.replayLimit { replayBody!.append(contentsOf: bytes) } else { replayBody = nil }
            }
            if let call, !call.appendBody(bytes) { connection.pauseReading() }
        default: break
        }
    }

    func requestBodyEnded() {
        bodyEnded = true
        switch stage {
        case .bufferingBody: runBodyPolicies()
        case .proxying:
            call?.endBody()
            // first_byte counts from the end of the request: a long upload is the client's time.
            lastUpstreamActivity = context.loop.now
        default: break
        }
    }

    func upstreamWantsBody() { connection.resumeReading() }

    // MARK: Upstream → client

    func upstreamHead(_ upstreamHead: HTTPResponseHead) {
        guard stage == .proxying else { return }
        let now = context.loop.now
        upstreamHeadAt = now
        upstreamStatus = upstreamHead.status
        lastUpstreamActivity = now
        awaitingHead = false
        armTimeout()   // the idle limit replaces first_byte from here on
        context.metrics.recordUpstream(upstream.name, seconds: Double(now &- started) / 1e9)
        recordOutcome(upstreamHead.status >= 500 ? .failure : .success)
        if retryIfAllowed(.status(upstreamHead.status), retryAfter: upstreamHead.headers["Retry-After"]) { return }

        // Response filters, in the route's order; one may intercept the response (error scrubbing:
        // a 5xx body with its stack traces never reaches the client).
        if !policies.response.isEmpty {
            responseFilters = policies.response.compactMap { $0.make(for: ctx, head: upstreamHead, tail: self) }
            for f in responseFilters where f.responseHead(status: upstreamHead.status, headers: upstreamHead.headers) == .intercept {
                interceptor = f
                stage = .intercepted
                return
            }
            endHolder = responseFilters.first { $0.holdsEnd }
        }
        // Response stages: hop-by-hop hygiene, Via and id, SSE hints, CORS and rate-limit
        // headers, then the security headers last so they win.
        var headers = ForwardingHeaders.clientResponseHeaders(upstreamHead.headers, requestID: requestID)
        if let type = headers["Content-Type"], type.lowercased().hasPrefix("text/event-stream") {
            isEventStream = true
            // Rampart may add events (save_status, an error event): the response is re-framed
            // (chunked) rather than written past the upstream's Content-Length.
            headers.remove("Content-Length")
            context.state.metrics.activeStreams.add(1, ordering: .relaxed)   // subtracted in complete()
            headers.set("X-Accel-Buffering", "no")
        }
        ResponseFinish.apply(&headers, requestID: nil, stageFields: ctx.responseHeaders, headersConfig: headersConfig, tls: connection.isTLS)
        responseStarted = true
        connection.sendHead(HTTPResponseHead(status: upstreamHead.status, headers: headers))
    }

    func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        lastUpstreamActivity = context.loop.now
        switch stage {
        case .proxying:
            bodyBytesOut += bytes.count
            for f in responseFilters { f.responseBody(bytes) }
            if clientGone { return true }   // continue_on_disconnect: keep reading for the save
            return connection.sendBody(bytes)
        case .intercepted:
            interceptor?.responseBody(bytes)
            return true
        default:
            return true
        }
    }

    func responseWritable() { call?.resume() }

    func upstreamFinished(_ failure: UpstreamFailure?) {
        call = nil
        switch stage {
        case .intercepted:
            interceptor?.interceptedBodyEnded(failure)
        case .proxying:
            if let failure {
                // Counted per attempt, like timeouts, so a retried failure shows once per try in both.
                context.metrics.upstreamError(upstream.name, kind: failure.metricKind)
                if failure == .connectTimeout { context.metrics.timeout(kind: "connect") }
                if awaitingHead {
                    recordOutcome(.failure)
                    if retryIfAllowed(failure.isTimeout ? .timeout : .connectError, retryAfter: nil) { return }
                }
                respondWithError(nil, cause: failure); return
            }
            if endHolder != nil { handOverEnd(clean: true); return }
            stage = .done
            connection.endResponse()
            complete(status: upstreamStatus ?? 502, error: nil)
        default:
            break
        }
    }

    func connectionClosed() {
        guard stage != .done else { return }
        if stage == .saving || (stage == .proxying && endHolder?.continuesWithoutClient == true) {
            // The generated content is still saved; the client just will not hear about it.
            clientGone = true
            context.detach(self)
            call?.resume()
            return
        }
        stage = .done
        call?.cancel(); call = nil
        complete(status: responseStarted ? (upstreamStatus ?? 499) : 499, error: "client_closed")
    }

    // MARK: Timeouts

    /// One timer per exchange, re-armed lazily: activity only moves a timestamp (cheap per chunk),
    /// and a deadline that moved later lets the timer fire early and re-arm (`checkTimeout`).
    func armTimeout() {
        let now = context.loop.now
        let t = ctx.plan.deadlines
        let totalDeadline = started &+ t.totalNs
        let phaseDeadline = lastUpstreamActivity &+ (awaitingHead ? t.firstByteNs : t.idleNs)
        let deadline = min(totalDeadline, phaseDeadline)
        if deadline <= now { timedOut(); return }
        armTimer(at: deadline)
    }

    /// Arms the timeout timer for `deadline` unless it is already due no later.
    func armTimer(at deadline: UInt64) {
        guard !completed else { return }
        if let t = timeoutTimer, t.isScheduled, t.scheduledAt <= deadline { return }
        // A strong capture: complete() cancels the timer, which drops the closure.
        if timeoutTimer == nil { timeoutTimer = context.loop.makeTimer { [self] in checkTimeout() } }
        context.loop.arm(timeoutTimer!, at: deadline)
    }

    /// Takes the timeout timer out of the heap while no upstream phase runs (it stays made).
    func disarmTimeout() {
        if let t = timeoutTimer { context.loop.disarm(t) }
    }

    func checkTimeout() {
        guard stage == .proxying || stage == .intercepted else { return }
        // Between attempts only the total deadline applies (the backoff is ours, not the upstream's).
        if retryTimer != nil && context.loop.now &- started < ctx.plan.deadlines.totalNs {
            armTimer(at: started &+ ctx.plan.deadlines.totalNs)
            return
        }
        armTimeout()
    }

}

extension Duration {
    var milliseconds: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
    var nanoseconds: UInt64 { UInt64(max(0, components.seconds)) * 1_000_000_000 + UInt64(max(0, components.attoseconds) / 1_000_000_000) }
}
