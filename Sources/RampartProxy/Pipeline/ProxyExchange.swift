import RampartLoop
import RampartTransport
import RampartHTTP

/// One proxied request, start to end, as the route's filter chain drives it:
///   request-head filters (CORS, identity, quotas, budgets) → whole-body filters if any
///   (validation, truncation, idempotency) → upstream (`UpstreamAttempts`: breaker, retries,
///   deadlines), streaming both ways with backpressure → response filters (error scrubbing,
///   usage, confirmed saves, idempotency capture) → `complete`, the one end of every exchange.
/// The exchange itself only moves bytes, applies backpressure and ends things; every policy is a
/// `RouteFilter`.
final class ProxyExchange: ServerExchange, UpstreamResponseHandler {
    let ctx: RequestContext
    let context: ServerContext
    /// Strong: with `continue_on_disconnect` the exchange outlives the client; a closed
    /// connection turns every send into a no-op. The connection drops its exchange when done.
    let connection: any ClientStream
    var filters: FilterChain { ctx.plan.filters }
    let started: UInt64

    enum Stage { case requestHead, bufferingBody, requestBody, proxying, intercepted, saving, tunnel, done }
    @exclusivity(unchecked) var stage = Stage.requestHead
    /// The upstream side: breaker, in-flight cap, attempts, deadlines. Kept after it ended (its retries are logged).
    @exclusivity(unchecked) var attempts: UpstreamAttempts?
    @exclusivity(unchecked) var bodyEnded = false
    @exclusivity(unchecked) var bufferedBody: [UInt8] = []
    /// What the access line will say.
    @exclusivity(unchecked) var facts = ExchangeFacts()
    @exclusivity(unchecked) var responseStarted = false
    @exclusivity(unchecked) var isEventStream = false
    /// This response's filters (usage, error scrubbing, a confirmed save), made when its head arrives.
    var responseFilters = ResponseFilters()
    /// A response filter took part in this response: without one, the exchange never touches
    /// `responseFilters` again (each access costs a runtime exclusivity check, kept because a
    /// filter may call back into the exchange).
    @exclusivity(unchecked) var responseFiltered = false
    /// `continue_on_disconnect`: the client left but the save goes on.
    @exclusivity(unchecked) var clientGone = false
    @exclusivity(unchecked) var completed = false
    /// After a WebSocket handshake's 101: the session that relays its frames.
    @exclusivity(unchecked) var webSocket: WebSocketSession?

    var hasBody: Bool { ctx.head.framing != .none }

    init(ctx: RequestContext, connection: any ClientStream, started: UInt64) {
        self.ctx = ctx; self.context = ctx.server; self.connection = connection; self.started = started
    }

    func start() {
        context.state.metrics.inFlight.add(1, ordering: .relaxed)
        if filters.requestHead.isEmpty { afterRequestHead(); return }
        if hasBody { connection.pauseRequestBody() }   // held in the kernel while filters decide (Redis)
        filters.runRequestHead(ctx) { [self] verdict in
            guard stage == .requestHead else { return }
            switch verdict {
            case .proceed: afterRequestHead()
            case .reject(let error): respondWithError(error, cause: nil)
            case .answer(let status, let extra):   // a CORS preflight: no body, the stage's headers
                reply(LocalReply.answer(status: status, extra: extra, ctx: ctx, tls: connection.isTLS), status: status)
            }
        }
    }

    /// Streams the body to the upstream, or reads it whole first when a filter wants it whole.
    func afterRequestHead() {
        guard stage == .requestHead else { return }
        let readWhole = filters.requestBody.contains { $0.readsBody(ctx) }
        stage = readWhole ? .bufferingBody : .proxying
        if !readWhole { startTransport(body: nil) }
        if hasBody && !bodyEnded { connection.sendContinueIfExpected(); connection.resumeRequestBody() }
        else if readWhole { runBodyFilters() }
    }

    func runBodyFilters() {
        let body = bufferedBody
        bufferedBody = []
        stage = .requestBody
        filters.runRequestBody(body, ctx) { [self] verdict in
            guard stage == .requestBody else { return }
            switch verdict {
            case .proceed(let body): stage = .proxying; startTransport(body: body)
            case .reject(let error): respondWithError(error, cause: nil)
            case .replay(let stored):   // an answer kept earlier, with fresh per-request fields
                facts.upstreamStatus = stored.status
                reply((LocalReply.replayed(stored, ctx: ctx, tls: connection.isTLS), stored.body), status: stored.status)
            }
        }
    }

    // MARK: Transport

    /// Starts the upstream side: streaming the client's body, or sending `body` whole when a body
    /// stage read or rewrote it. The breaker and the in-flight cap are asked first: a refusal is
    /// a 503 with no upstream traffic at all.
    func startTransport(body: [UInt8]?) {
        let attempts = UpstreamAttempts(for: ctx, client: connection, started: started, handler: self)
        if let refusal = attempts.admit() { respondWithError(refusal, cause: nil); return }
        self.attempts = attempts
        attempts.start(body: body)
        // A body that ended before the transport started (Content-Length: 0) ends upstream now,
        // so first_byte starts counting.
        if body == nil && bodyEnded { attempts.endBody() }
    }

    // MARK: Client → upstream

    func requestBody(_ bytes: UnsafeRawBufferPointer) {
        if let webSocket { webSocket.clientBytes(bytes); return }
        facts.bytesIn += bytes.count
        if facts.bytesIn > ctx.plan.bodyLimit {
            respondWithError(.payloadTooLarge(limit: ctx.plan.bodyLimit), cause: nil)
            return
        }
        switch stage {
        case .bufferingBody: bufferedBody.append(contentsOf: bytes)
        case .proxying:
            for f in filters.requestChunks { f.requestChunk(bytes, ctx) }
            if attempts?.appendBody(bytes) == .pause { connection.pauseRequestBody() }
        default: break
        }
    }

    func requestBodyEnded() {
        bodyEnded = true
        if stage == .bufferingBody { runBodyFilters() } else if stage == .proxying { attempts?.endBody() }
    }

    func resumeRequestBody() { connection.resumeRequestBody() }

    // MARK: Upstream → client

    func upstreamHead(_ upstreamHead: consuming HTTPResponseHead) {
        guard stage == .proxying else { return }
        facts.upstreamHeadAt = context.loop.now
        facts.upstreamStatus = upstreamHead.status

        // Response filters, in the route's order; one may intercept the response (error scrubbing:
        // a 5xx body with its stack traces never reaches the client).
        if !filters.response.isEmpty {
            let intercepted = responseFilters.start(filters.response, ctx: ctx, head: upstreamHead, tail: self)
            responseFiltered = !responseFilters.isEmpty   // most take no part in a success (error scrubbing)
            if intercepted { stage = .intercepted; return }
        }
        if connection.acceptsForwardedHead {
            responseStarted = true
            if ResponseFinish.sendForwarded(&upstreamHead, ctx: ctx, to: connection) { return }
            responseStarted = false
        }
        let (head, eventStream) = ResponseFinish.proxied(consume upstreamHead, ctx: ctx, tls: connection.isTLS)
        if eventStream {
            isEventStream = true
            context.state.metrics.activeStreams.add(1, ordering: .relaxed)   // subtracted in complete()
            responseFilters.listenForEvents()
        }
        responseStarted = true
        connection.sendHead(head)
    }

    func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        switch stage {
        case .proxying:
            let edited = responseFiltered ? responseFilters.body(bytes) : nil   // a filter may change what the client gets
            facts.bytesOut += edited?.count ?? bytes.count
            if clientGone { return .proceed }   // continue_on_disconnect: keep reading for the save
            return edited.map { connection.sendBody($0) } ?? connection.sendBody(bytes)
        case .intercepted:
            responseFilters.interceptedBody(bytes)
            return .proceed
        default:
            return .proceed
        }
    }

    func resumeResponse() {
        if let webSocket { webSocket.clientWritable(); return }
        attempts?.resumeResponse()
    }

    func upstreamFinished(_ failure: UpstreamFailure?) {
        switch stage {
        case .intercepted:
            responseFilters.interceptor?.interceptedBodyEnded(failure)
        case .proxying:
            if let failure { respondWithError(nil, cause: failure); return }
            if responseFiltered && responseFilters.endHolder != nil { handOverEnd(clean: true); return }
            stage = .done
            connection.endResponse()
            complete(status: facts.upstreamStatus ?? 502, error: nil)
        default: break
        }
    }

    func connectionClosed() {
        guard stage != .done else { return }
        if let webSocket { webSocket.clientClosed(); return }
        let holder = stage == .intercepted ? responseFilters.interceptor : responseFilters.endHolder   // a held JSON answer's save
        if stage == .saving || ((stage == .proxying || stage == .intercepted) && holder?.continuesWithoutClient == true) {
            // The generated content is still saved; the client just will not hear about it.
            clientGone = true
            context.detach(self)
            attempts?.resumeResponse()
            return
        }
        stage = .done
        attempts?.cancel()
        complete(status: responseStarted ? (facts.upstreamStatus ?? 499) : 499, error: "client_closed")
    }
}
