import RampartLoop
import RampartTransport
import RampartHTTP

/// How an exchange ends: Rampart's own replies (errors, local answers), a stream cut mid-way, the
/// drain deadline, and `complete`, the one place that settles counters and writes the log line.
extension ProxyExchange {
    /// Shutdown's deadline: a request still waiting gets 503; a started stream gets its format's
    /// error event and a clean end (a save route journals what streamed); a save still running
    /// is journaled as pending, to be resumed at the next start.
    func drainDeadlineReached() {
        switch stage {
        case .done: return
        case .saving: endHolder?.drainDeadlineReached()
        case .intercepted:
            attempts?.cancel()
            interceptor?.interceptedBodyEnded(.cancelled)
        case .requestHead, .bufferingBody, .requestBody, .proxying:
            // Between attempts (a retry's backoff) nothing is in flight upstream either. Once it
            // reached the upstream, an idempotency key stays held, so a retry with it is not run
            // twice (a shared store expires the in-flight record by itself).
            let reached = stage == .proxying && attempts?.reachedUpstream == true
            if reached { ctx.idempotencyHold = nil }
            respondWithError(.shuttingDown(reachedUpstream: reached), cause: nil)
        }
    }

    /// Before the response started: a JSON error. After: SSE gets an `event: error`; other bodies
    /// are cut so the client sees a truncated message, never a clean end.
    func respondWithError(_ gatewayError: GatewayError?, cause: UpstreamFailure?) {
        // A save holds the end of the response from `.saving` on: nothing may end it twice
        // (say, a chunked upload crossing the body limit after the stream has ended).
        guard stage != .done, stage != .saving else { return }
        attempts?.cancel()
        if let cause {
            context.accessLog.event(.warn, "upstream exchange failed", [
                ("request_id", JSONText.quote(requestID)), ("upstream", JSONText.quote(upstream.name)),
                ("error", JSONText.quote(cause.description)), ("response_started", responseStarted ? "true" : "false")])
        }
        let error = gatewayError ?? (cause?.isTimeout == true ? .gatewayTimeout() : .badGateway())
        if !responseStarted {
            sendError(error, logStatus: error.status, upstreamNote: cause?.description ?? error.code)
            return
        }
        facts.errorMessage = error.message
        facts.cutError = cause?.description ?? error.code
        if isEventStream {
            context.metrics.streamError()
            let event = StreamErrorEvent.bytes(error, dialect: StreamErrorEvent.dialect(of: route), requestID: requestID)
            facts.bytesOut += event.count
            _ = connection.sendBody(event)
            if endHolder != nil { handOverEnd(clean: false); return }
            stage = .done
            connection.endResponse()
        } else {
            stage = .done
            context.metrics.streamError()
            connection.abortResponse()
        }
        complete(status: facts.upstreamStatus ?? error.status, error: cause?.description ?? error.code)
    }

    func sendError(_ error: GatewayError, logStatus: Int, upstreamNote: String) {
        stage = .done
        let (head, body) = LocalReply.error(error, requestID: requestID, stageFields: ctx.responseHeaders, headersConfig: headersConfig,
                                            tls: connection.isTLS, retryAfterCap: ctx.config.server.retryAfterCapSeconds)
        facts.bytesOut += body.count
        facts.errorMessage = error.message
        connection.sendHead(head)
        _ = connection.sendBody(body)
        connection.endResponse()
        complete(status: logStatus, error: upstreamNote)
    }

    /// A success Rampart gives itself (a CORS preflight): no body, the stage's headers.
    func answerLocally(status: Int, headers extra: [HTTPField]) {
        stage = .done
        connection.sendHead(LocalReply.head(status: status, contentType: nil, bodyLength: 0, requestID: requestID,
                                            stageFields: ctx.responseHeaders + extra, headersConfig: headersConfig, tls: connection.isTLS))
        connection.endResponse()
        complete(status: status, error: nil)
    }

    /// An answer kept earlier (an idempotent replay), with fresh per-request fields.
    func replay(_ stored: StoredResponse) {
        stage = .done
        facts.upstreamStatus = stored.status
        connection.sendHead(LocalReply.replayed(stored, ctx: ctx, tls: connection.isTLS))
        _ = connection.sendBody(stored.body)
        connection.endResponse()
        complete(status: stored.status, error: nil)
    }

    func complete(status: Int, error: String?) {
        guard !completed else { return }
        completed = true
        if clientGone { context.reattachEnded(self) }
        attempts?.cancel()
        attempts?.releaseSlots()
        closeEventStream()
        if !responseFilters.isEmpty {
            let ending: ExchangeEnding = error == nil ? .complete : clientGone || error == "client_closed" ? .clientGone : .cut(error!)
            for f in responseFilters { f.completed(ending) }
            responseFilters = []
        }
        ctx.ended = true
        for f in filters.end { f.exchangeEnded(ctx) }   // a key no response stored is freed
        context.state.metrics.inFlight.subtract(1, ordering: .relaxed)
        if isEventStream { context.state.metrics.activeStreams.subtract(1, ordering: .relaxed) }
        let now = context.loop.clock.monotonicNanoseconds()
        context.metrics.recordRequest(route: route.name, status: status, seconds: Double(now &- started) / 1e9)
        let breaker = context.state.breakers.snapshot(upstream: breakerName, now: context.state.clock.now())?.state
        context.accessLog.log(facts.record(ctx, status: status, error: error, started: started, now: now, retries: attempts?.retries ?? 0,
                                           breaker: breaker, save: endHolder?.accessLogSave, peer: connection.peerText))
    }}

extension ProxyExchange {
    /// The stream is over: an event its last blank line never closed (WHATWG drops it) goes to
    /// the listeners that count rather than show (`responseEventsEnded`). A cut-off line just
    /// fails to parse there.
    func closeEventStream() {
        guard var parser = eventParser else { return }
        eventParser = nil
        var last: SSEEvent?
        parser.feed([0x0A, 0x0A]) { last = $0 }
        for f in eventListeners { f.responseEventsEnded(unterminated: last) }
    }
}
