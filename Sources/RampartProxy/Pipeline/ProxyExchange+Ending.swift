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
        case .tunnel: webSocket?.cut()
        case .saving: responseFilters.endHolder?.drainDeadlineReached()
        case .intercepted: responseFilters.interceptor?.interceptedBodyEnded(.cancelled)
        case .requestHead, .bufferingBody, .requestBody, .proxying:
            // Between attempts (a retry's backoff) nothing is in flight upstream either. Once it
            // reached the upstream, an idempotency key stays held, so a retry with it is not run
            // twice (a shared store expires the in-flight record by itself).
            let reached = stage == .proxying && attempts?.reachedUpstream == true
            if reached { ctx.idempotencyHold = nil }
            respondWithError(.shuttingDown(reachedUpstream: reached), cause: nil)
        }
    }

    /// `body_timeout_ms` fired while the request body streamed in. Before any response, the
    /// client gets 408 REQUEST_TIMEOUT with this request's id (an upstream call is cancelled) and
    /// the connection closes after it; a response already under way is the connection's to cut.
    func requestBodyTimedOut() -> Bool {
        switch stage {
        case .requestHead, .bufferingBody, .requestBody, .proxying: break
        case .intercepted, .saving, .tunnel, .done: return false
        }
        guard !responseStarted else { return false }
        context.metrics.timeout(kind: "body")
        respondWithError(.requestTimeout(), cause: nil)
        return true
    }

    /// Before the response started: a JSON error. After: SSE gets an `event: error`; other bodies
    /// are cut so the client sees a truncated message, never a clean end.
    func respondWithError(_ gatewayError: GatewayError?, cause: UpstreamFailure?) {
        // A save holds the end of the response from `.saving` on: nothing may end it twice
        // (say, a chunked upload crossing the body limit after the stream has ended).
        guard stage != .done, stage != .saving, stage != .tunnel else { return }
        attempts?.cancel()
        let error = gatewayError ?? (cause?.isTimeout == true ? .gatewayTimeout() : .badGateway())
        if !responseStarted { sendError(error, note: cause?.description ?? error.code); return }
        facts.errorMessage = error.message
        facts.cutError = cause?.description ?? error.code
        context.metrics.streamError()
        if isEventStream {
            let event = StreamErrorEvent.bytes(error, dialect: StreamErrorEvent.dialect(of: ctx.route), requestID: ctx.requestID)
            facts.bytesOut += event.count
            connection.sendBody(event)
            if responseFilters.endHolder != nil { handOverEnd(clean: false); return }
            stage = .done
            connection.endResponse()
        } else {
            stage = .done
            connection.abortResponse()
        }
        complete(status: facts.upstreamStatus ?? error.status, error: cause?.description ?? error.code)
    }

    /// Rampart answers instead of the upstream (an error, a preflight, a replay): one head, one body.
    func reply(_ reply: (head: HTTPResponseHead, body: [UInt8]), status: Int, error: String? = nil) {
        stage = .done
        facts.bytesOut += reply.body.count
        connection.sendWhole(reply.head, reply.body)
        complete(status: status, error: error)
    }

    func sendError(_ error: GatewayError, note: String) {
        facts.errorMessage = error.message
        reply(LocalReply.error(error, requestID: ctx.requestID, stageFields: ctx.responseHeaders, headersConfig: ctx.plan.headers,
                               tls: connection.isTLS, retryAfterCap: ctx.config.server.retryAfterCapSeconds),
              status: error.status, error: note)
    }

    func complete(status: Int, error: String?) {
        guard !completed else { return }
        completed = true
        if clientGone { context.reattachEnded(self) }
        attempts?.close()
        let plain = !responseFiltered
        if !plain { responseFilters.end(error == nil ? .complete : clientGone || error == "client_closed" ? .clientGone : .cut(error!)) }
        ctx.ended = true
        for f in filters.end { f.exchangeEnded(ctx) }   // a key no response stored is freed
        context.state.metrics.inFlight.subtract(1, ordering: .relaxed)
        if isEventStream { context.state.metrics.activeStreams.subtract(1, ordering: .relaxed) }
        facts.report(ctx, status: status, error: error, started: started, upstream: attempts,
                     save: plain ? nil : (responseFilters.endHolder ?? responseFilters.interceptor)?.accessLogSave, peer: ctx.peerText)
    }
}

/// The response as response filters drive it: a filter that holds the end (a confirmed save) adds
/// its event and finishes; one that intercepts (error scrubbing) replaces or releases the response.
extension ProxyExchange: ResponseTail {
    func replaceResponse(with error: GatewayError, note: String) {
        guard stage == .intercepted else { return }
        sendError(error, note: note)
    }

    func releaseResponse(_ upstreamHead: HTTPResponseHead, body: [UInt8]) {
        guard stage == .intercepted else { return }
        reply((ResponseFinish.proxied(upstreamHead, whole: body, ctx: ctx, tls: connection.isTLS), body), status: upstreamHead.status)
    }

    /// The upstream's body ended or was cut: the filter that holds the end takes over.
    func handOverEnd(clean: Bool) {
        guard let endHolder = responseFilters.endHolder, stage == .proxying else { return }
        stage = .saving
        attempts?.cancel()
        endHolder.responseEnded(clean: clean, cutError: facts.cutError)
    }

    func appendToResponse(_ bytes: [UInt8]) {
        facts.bytesOut += bytes.count
        connection.sendBody(bytes)
    }

    func finishResponse(error: String?) {
        guard !completed else { return }
        stage = .done
        connection.endResponse()
        complete(status: facts.upstreamStatus ?? 200, error: error ?? (clientGone ? "client_closed" : nil))
    }

    var requestBodyForTemplates: [UInt8]? { attempts?.replayBody }
}
