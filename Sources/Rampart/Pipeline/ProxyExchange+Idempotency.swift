import RampartHTTP

/// Idempotency keys (SPEC §7.4) in the request's story: after the body stages, before the transport.
extension ProxyExchange {
    /// First request with a key runs; a repeat gets the stored answer (`Idempotent-Replayed: true`);
    /// a repeat while the first still runs gets 409; the same key with another body gets 422.
    /// Keys are per identity: one user's key never replays another's response.
    func checkIdempotency(key: String, body: [UInt8]) {
        guard let config = route.idempotency else { return }
        stage = .idempotencyCheck
        let fingerprint = IdempotencyFingerprint.of(method: head.method, path: head.target, body: body)
        let identity = ctx.identityKey
        context.idempotency.begin(identity: identity, key: key, fingerprint: fingerprint,
                                  ttl: Double(config.ttl.milliseconds) / 1000, now: context.state.clock.now()) { [self] result in
            guard stage == .idempotencyCheck else {
                if case .success(.proceed) = result { context.idempotency.abandon(identity: identity, key: key) }
                return
            }
            switch result {
            case .success(.proceed):
                ctx.idempotencyHold = (key, fingerprint)   // the route's IdempotencyCapture stores or frees it
                stage = .proxying
                startTransport(body: body)
            case .success(.replay(let stored)):
                replay(stored)
            case .success(.inProgress):
                respondWithError(GatewayError(status: 409, code: "IDEMPOTENCY_IN_PROGRESS",
                                              message: "A request with this Idempotency-Key is still running; retry when it has finished.", retryAfterSeconds: 1), cause: nil)
            case .success(.mismatch):
                respondWithError(GatewayError(status: 422, code: "IDEMPOTENCY_MISMATCH",
                                              message: "This Idempotency-Key was used with a different request."), cause: nil)
            case .failure(let e):
                context.metrics.storeError(kind: "idempotency")
                context.accessLog.event(.warn, "idempotency store unavailable", [("request_id", JSONText.quote(requestID)), ("reason", JSONText.quote(e.reason))])
                if ctx.config.store.onUnavailable == .allow { stage = .proxying; startTransport(body: body) }
                else { respondWithError(GatewayError(status: 503, code: "OVERLOADED", message: "The idempotency store is unavailable; try again shortly.", retryAfterSeconds: 1), cause: nil) }
            }
        }
    }

    func replay(_ stored: StoredResponse) {
        stage = .done
        var h = HTTPHeaders(stored.headers)
        h.set("Content-Length", String(stored.body.count))
        h.set("Idempotent-Replayed", "true")
        ResponseFinish.apply(&h, requestID: requestID, stageFields: ctx.responseHeaders, headersConfig: headersConfig, tls: connection.isTLS)
        upstreamStatus = stored.status
        connection.sendHead(HTTPResponseHead(status: stored.status, headers: h))
        _ = connection.sendBody(stored.body)
        connection.endResponse()
        complete(status: stored.status, error: nil)
    }

    /// The request ended without a response filter taking the key (no response head: an error,
    /// a timeout, the client gone): free it so a retry can run.
    func releaseIdempotency() {
        guard let hold = ctx.idempotencyHold else { return }
        ctx.idempotencyHold = nil
        context.idempotency.abandon(identity: ctx.identityKey, key: hold.key)
    }
}
