import RampartHTTP
import RampartLoop
import RampartTransport

/// The upstream half of one proxied request, in one place under the exchange: the breaker's
/// admission, the upstream's in-flight cap, the attempts and their retries (SPEC §7.2–7.3), and
/// the route's deadlines (SPEC §7.1: first byte counted from the end of the request body, idle
/// between body bytes, total across attempts; connect is the transport's). The exchange sees one
/// call: the final response head and body, or one failure after the last attempt; the breaker and
/// the retry budget see one request (`RequestAccounting`, SPEC §11.4).
final class UpstreamAttempts: UpstreamCall, UpstreamResponseHandler {
    @exclusivity(unchecked) private var handler: UpstreamResponseHandler?
    /// The request's context: its plan, loop and id are read through it (one reference held).
    private let ctx: RequestContext
    private var context: ServerContext { ctx.server }
    private var plan: RoutePlan { ctx.plan }
    private var requestID: String { ctx.requestID }
    @exclusivity(unchecked) private var request: UpstreamRequest
    /// When the client's request began: the total deadline counts from there.
    private let started: UInt64
    private let hasBody: Bool

    @exclusivity(unchecked) private var call: UpstreamCall?
    /// With several servers: the pool, the caller (for `hash_user`), the attempt's server and
    /// those already tried (a retry asks for another).
    private var pool: ServerPool? { handles.pool }
    private let caller: String
    @exclusivity(unchecked) private var server: Int?
    @exclusivity(unchecked) private var serverReported = false
    @exclusivity(unchecked) private var tried: [Int] = []
    /// The pool server the latest attempt went to (host and port), for the span; nil without a pool.
    @exclusivity(unchecked) private(set) var lastServer: (host: String, port: UInt16)?
    /// The request body kept for a retry or a save template's `{body.…}` (nil once it is too
    /// large to keep, and from the start on a route where nothing reads it again: no copy).
    @exclusivity(unchecked) private(set) var replayBody: [UInt8]?
    @exclusivity(unchecked) private var bodyEnded = false
    @exclusivity(unchecked) private(set) var retries = 0
    @exclusivity(unchecked) private var awaitingHead = true
    @exclusivity(unchecked) private var lastActivity: UInt64 = 0
    /// The upstream stopped taking the request body (the transport said `.pause`): from then the
    /// idle limit applies to it, while the client's own pauses are the client's time.
    @exclusivity(unchecked) private var uploadBlocked = false
    @exclusivity(unchecked) private var accounting: RequestAccounting
    private let handles: UpstreamHandles
    private var inFlight: InFlightCounter { handles.inFlight }
    /// The request's breaker state now, for its access line.
    var breakerState: String? { accounting.breakerState }
    @exclusivity(unchecked) private var inFlightSlot: InFlightCounter?
    @exclusivity(unchecked) private var timer: LoopTimer?
    @exclusivity(unchecked) private var retryTimer: LoopTimer?
    @exclusivity(unchecked) private var finished = false

    static let replayLimit = 1 << 20

    private var upstream: UpstreamConfig { _read { yield plan.upstream } }
    private var deadlines: CallDeadlines { plan.deadlines }
    private var totalDeadline: UInt64 { started &+ deadlines.totalNs }

    /// Whether an attempt is on the wire now (not between attempts, not ended).
    var reachedUpstream: Bool { call != nil }

    init(for ctx: RequestContext, client: any ClientStream, started: UInt64, handler: UpstreamResponseHandler) {
        request = UpstreamRequest(for: ctx, connection: client)
        self.ctx = ctx; self.started = started; self.handler = handler
        hasBody = ctx.head.framing != .none
        replayBody = ctx.plan.keepsRequestBody ? [] : nil
        let handles = ctx.server.handles(for: ctx.plan)
        accounting = RequestAccounting(breakers: ctx.server.state.breakers, breaker: handles.breaker, budget: handles.retryBudget)
        self.handles = handles
        // Built only where it is read: a plain request makes no String for it.
        caller = handles.pool?.config.balance == .hashUser ? ctx.identityKey : ""
    }

    /// Asks the breaker and the in-flight cap; nil = admitted (the first attempt may start).
    func admit() -> GatewayError? {
        if case .rejected(let retryAfter) = accounting.admit(now: context.state.wallNow()) {
            return GatewayError(status: 503, code: "CIRCUIT_OPEN", message: "The upstream \(upstream.name) is failing; requests are paused.",
                                retryAfterSeconds: max(1, Int(retryAfter.rounded(.up))))
        }
        let counter = inFlight
        guard counter.acquire(limit: upstream.maxInFlight) else {
            context.metrics.upstreamError(upstream.name, kind: "overloaded")
            releaseSlots()
            return GatewayError(status: 503, code: "OVERLOADED", message: "Too many requests are in flight to \(upstream.name); try again shortly.",
                                retryAfterSeconds: 1)
        }
        inFlightSlot = counter
        return nil
    }

    /// Starts the first attempt: with `body` whole (a filter read or rewrote it), or streaming the
    /// client's body through `appendBody`/`endBody` when nil.
    func start(body: [UInt8]?) {
        if let body {
            replayBody = body.count <= Self.replayLimit ? body : nil
            bodyEnded = true
            request.body = body.isEmpty && !hasBody ? .none : .known(body.count)
        }
        launch(body: body)
    }

    private func launch(body: [UInt8]?) {
        // The total deadline passed before this attempt could start (a slow upload, a late retry
        // timer): nothing is sent; the breaker hears the previous attempt's failure, if any (end).
        if context.loop.now >= totalDeadline {
            context.metrics.timeout(kind: "total")
            end(.timeout("total"))
            return
        }
        awaitingHead = true
        uploadBlocked = false
        lastActivity = context.loop.now
        armTimeout()
        guard !finished else { return }   // the total deadline passed during the backoff
        if let pool, !chooseServer(pool) { return }
        let call = context.transport.start(request, handler: self)
        self.call = call
        if let body {
            if !body.isEmpty { _ = body.withUnsafeBytes { call.appendBody($0) } }
            if hasBody || !body.isEmpty { call.endBody() }
        } else if bodyEnded {
            call.endBody()
        }
    }

    // MARK: Servers

    /// Points the attempt at the pool's pick; false (and the request ended) when none may take it.
    private func chooseServer(_ pool: ServerPool) -> Bool {
        guard let i = pool.pick(caller: caller, excluding: tried, now: context.state.wallNow()) else {
            context.metrics.upstreamError(upstream.name, kind: "no_server")
            end(.connectFailed("every server of \(upstream.name) is drained"))
            return false
        }
        server = i; serverReported = false
        tried.append(i)
        let s = pool.servers[i]
        lastServer = (s.endpoint.host, s.endpoint.port)
        request.endpoint = s.endpoint
        if s.endpoint.isHTTPS { request.headers.set("Host", s.authority) }
        return true
    }

    /// The attempt's verdict for passive health: connection failures, timeouts and 502/503/504.
    private func reportServer(ok: Bool) {
        guard let pool, let i = server, !serverReported else { return }
        serverReported = true
        if pool.report(i, ok: ok, now: context.state.wallNow()) {
            context.accessLog.event(.warn, "upstream server ejected", [
                ("upstream", JSONText.quote(upstream.name)), ("server", JSONText.quote(pool.servers[i].url)),
                ("cooldown_seconds", String(pool.config.cooldown.components.seconds))])
        }
    }

    /// The attempt is over: its server has one request fewer in flight.
    private func releaseServer() {
        guard let pool, let i = server else { return }
        server = nil
        pool.release(i)
    }

    // MARK: UpstreamCall (from the exchange)

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        // first_byte counts from the end of the request: while the client uploads, it waits.
        if replayBody != nil {
            if replayBody!.count + bytes.count <= Self.replayLimit { replayBody!.append(contentsOf: bytes) } else { replayBody = nil }
        }
        let flow = call?.appendBody(bytes) ?? .proceed
        if flow == .pause && !uploadBlocked && awaitingHead {
            uploadBlocked = true
            lastActivity = context.loop.now
            armTimeout()
        }
        return flow
    }

    func endBody() {
        guard !bodyEnded else { return }
        bodyEnded = true
        uploadBlocked = false
        call?.endBody()
        // first_byte counts from the end of the request: a long upload is the client's time.
        lastActivity = context.loop.now
        armTimeout()
    }

    func resumeResponse() { call?.resumeResponse() }

    func cancel() {
        call?.cancel(); call = nil
        releaseServer()
        finish()
    }

    /// The exchange is over: nothing more goes upstream, and the breaker probe, retry slot and
    /// in-flight slot this request held are given back.
    func close() {
        cancel()
        releaseSlots()
    }

    // MARK: UpstreamResponseHandler (from the transport)

    func upstreamHead(_ head: consuming HTTPResponseHead) {
        let now = context.loop.now
        lastActivity = now
        awaitingHead = false
        armTimeout()   // the idle limit replaces first_byte from here on
        guard !finished else { return }
        context.metrics.recordUpstream(upstream.name, seconds: Double(now &- started) / 1e9)
        reportServer(ok: !(502...504).contains(head.status))
        accounting.attemptEnded(head.status >= 500 ? .failure : .success)
        if retryIfAllowed(.status(head.status), retryAfter: head.headers["Retry-After"]) { return }
        accounting.settle(now: context.state.wallNow())
        handler?.upstreamHead(consume head)
    }

    /// A WebSocket handshake succeeded: one successful request for the breaker, and the session
    /// holds no in-flight slot (it may last an hour; `max_per_user` bounds sockets instead).
    func upstreamUpgraded(_ head: HTTPResponseHead, tunnel: UpstreamTunnel) {
        call = nil
        reportServer(ok: true)
        releaseServer()
        guard !finished, let h = handler else { tunnel.close(); return }
        context.metrics.recordUpstream(upstream.name, seconds: Double(context.loop.now &- started) / 1e9)
        accounting.attemptEnded(.success)
        accounting.settle(now: context.state.wallNow())
        finish()
        releaseSlots()
        h.upstreamUpgraded(head, tunnel: tunnel)
    }

    func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        lastActivity = context.loop.now
        return handler?.upstreamBody(bytes) ?? .proceed
    }

    func resumeRequestBody() {
        if uploadBlocked { uploadBlocked = false; lastActivity = context.loop.now }
        handler?.resumeRequestBody()
    }

    func upstreamFinished(_ failure: UpstreamFailure?) {
        call = nil
        if failure != nil { reportServer(ok: false) }
        releaseServer()
        if let failure {
            // Counted per attempt, like timeouts, so a retried failure shows once per try in both.
            context.metrics.upstreamError(upstream.name, kind: failure.metricKind)
            if failure == .connectTimeout { context.metrics.timeout(kind: "connect") }
            if awaitingHead {
                accounting.attemptEnded(.failure)
                if retryIfAllowed(failure.isTimeout ? .timeout : .connectError, retryAfter: nil) { return }
            }
        }
        end(failure)
    }

    /// The last word to the exchange, once; a failure is logged with the request it failed, and
    /// the breaker hears the last attempt's outcome if no head told it already.
    private func end(_ failure: UpstreamFailure?) {
        accounting.settle(now: context.state.wallNow())
        let h = handler
        if let failure, h != nil {
            context.accessLog.event(.warn, "upstream exchange failed", [
                ("request_id", JSONText.quote(requestID)), ("upstream", JSONText.quote(upstream.name)),
                ("error", JSONText.quote(failure.description)), ("response_started", awaitingHead ? "false" : "true")])
        }
        finish()
        h?.upstreamFinished(failure)
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        handler = nil
        if let t = timer { timer = nil; context.loop.recycle(t) }   // the next request's deadline reuses it
        context.loop.cancel(retryTimer); retryTimer = nil
    }

    /// Gives back the in-flight slot, the retry-budget slot and a half-open probe (a failure still
    /// pending, when the client left between attempts, reaches the breaker). The exchange calls it
    /// when it completes, so a confirmed save that follows the stream still counts against
    /// `max_in_flight`.
    func releaseSlots() {
        accounting.finish(now: context.state.wallNow())
        inFlightSlot?.release(); inFlightSlot = nil
    }

    // MARK: Retries and the breaker

    /// Retries when SPEC §7.2 and §11.4 allow it: a listed outcome, a retryable method or an
    /// Idempotency-Key, a replayable body, attempts and total time left, a closed breaker, room in
    /// the retry budget, and no SDK retrying the request itself. Nothing has reached the client
    /// yet: the head is passed on only when no retry follows.
    private func retryIfAllowed(_ outcome: AttemptOutcome, retryAfter: @autoclosure () -> String?) -> Bool {
        guard let retry = plan.route.retry, retry.attempts > 1 else { return false }
        let remaining = Double(Int64(totalDeadline) - Int64(context.loop.now)) / 1e9
        let attempt = FailedAttempt(method: request.method, hasIdempotencyKey: ctx.head.headers.contains("Idempotency-Key"), outcome: outcome,
                                    responseStarted: false, bodyReplayable: !hasBody || (bodyEnded && replayBody != nil),
                                    attemptsSoFar: retries + 1, remainingTotal: remaining, retryAfter: retryAfter())
        // Read only here, when a retry is in question: most requests never pay for the lookup.
        let sdkRetries = RequestAccounting.sdkRetryCount(request.headers[RequestAccounting.sdkRetryHeader])
        let delay: Double
        switch accounting.retry(after: attempt, config: retry, sdkRetryCount: sdkRetries, random: ThreadRandom.unit(),
                                now: context.state.wallNow()) {
        case .retry(let after): delay = after
        case .refused(.budgetExhausted):
            context.metrics.upstreamError(upstream.name, kind: "retry_budget_exhausted")
            return false
        case .refused: return false
        }
        call?.cancel(); call = nil
        releaseServer()
        retries += 1
        context.metrics.retry(upstream: upstream.name)
        if let timer { context.loop.disarm(timer) }
        armTimer(at: totalDeadline)   // between attempts only the total deadline applies
        retryTimer = context.loop.schedule(afterMs: Int(delay * 1000)) { [self] in
            retryTimer = nil
            guard !finished else { return }
            if hasBody, let replay = replayBody { request.body = .known(replay.count) }   // the whole body is at hand now
            launch(body: hasBody ? replayBody : nil)
        }
        return true
    }

    // MARK: Deadlines

    /// One timer, re-armed lazily: activity only moves `lastActivity` (cheap per chunk), and a
    /// deadline that moved later lets the timer fire early and re-arm (`checkTimeout`).
    private func armTimeout() {
        guard !finished else { return }   // e.g. the client's body ended after the response did
        let deadline = attemptLimit.map { min(totalDeadline, lastActivity &+ $0) } ?? totalDeadline
        if deadline <= context.loop.now { timedOut(); return }
        armTimer(at: deadline)
    }

    /// The attempt's own limit after `lastActivity`: idle once the head came; while the client is
    /// still uploading, none (the client's body timeout covers a client that stalls) unless the
    /// upstream stopped reading, then idle; first_byte from the end of the body.
    private var attemptLimit: UInt64? {
        if !awaitingHead { return deadlines.idleNs }
        if uploading { return uploadBlocked ? deadlines.idleNs : nil }
        return deadlines.firstByteNs
    }

    /// The request body is still on its way from the client (bodiless requests never are).
    private var uploading: Bool { hasBody && !bodyEnded }

    private func armTimer(at deadline: UInt64) {
        guard !finished else { return }
        // Read in place, not bound: a binding retains the timer and the loop.
        if timer != nil && timer.unsafelyUnwrapped.isScheduled && timer.unsafelyUnwrapped.scheduledAt <= deadline { return }
        let loop = context.loop
        // A strong capture: finish() cancels the timer, which drops the closure.
        if timer == nil { timer = loop.makeTimer { [self] in checkTimeout() } }
        loop.arm(timer.unsafelyUnwrapped, at: deadline)
    }

    private func checkTimeout() {
        guard !finished else { return }
        if retryTimer != nil && context.loop.now < totalDeadline { armTimer(at: totalDeadline); return }
        armTimeout()
    }

    private func timedOut() {
        let kind = context.loop.now >= totalDeadline ? "total" : (awaitingHead && !uploading ? "first_byte" : "idle")
        context.metrics.timeout(kind: kind)
        context.metrics.upstreamError(upstream.name, kind: kind)   // per attempt, as failures are
        if awaitingHead { reportServer(ok: false) }
        call?.cancel(); call = nil
        releaseServer()
        if awaitingHead {
            accounting.attemptEnded(.failure)
            if kind == "first_byte" && retryIfAllowed(.timeout, retryAfter: nil) { return }
        }
        end(.timeout(kind))
    }
}
