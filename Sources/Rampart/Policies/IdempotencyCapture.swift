import RampartHTTP

/// The response half of idempotency keys (SPEC §7.4): while this request holds its key (the
/// check in `ProxyExchange+Idempotency` said proceed), the response is kept as it streams, and
/// when it completes with a non-5xx status and fits `max_body_bytes` it is stored for replays;
/// anything else frees the key so a retry can run.
struct IdempotencyCapturing: ResponseFilterMaker {
    let config: IdempotencyConfig
    func make(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? {
        guard ctx.idempotencyHold != nil else { return nil }
        // A confirmed save's stream ends with an event of its own; it is never replayed.
        if ctx.route.streamSave != nil, (200..<300).contains(head.status),
           head.headers["Content-Type"]?.lowercased().hasPrefix("text/event-stream") == true { return nil }
        return IdempotencyCapture(ctx, config: config)
    }
}

final class IdempotencyCapture: ResponseFilter {
    private let ctx: RequestContext
    private let config: IdempotencyConfig
    private var response: StoredResponse?

    init(_ ctx: RequestContext, config: IdempotencyConfig) { self.ctx = ctx; self.config = config }

    /// Stored without per-request fields; a replay adds fresh ones.
    func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict {
        var kept = ForwardingHeaders.clientResponseHeaders(headers, requestID: ctx.requestID)
        for name in ["X-Request-Id", "Via", "Content-Length", "Transfer-Encoding", "Date"] { kept.remove(name) }
        response = StoredResponse(status: status, headers: kept.fields, body: [])
        return .pass
    }

    /// Dropped (and the key freed at the end) once it outgrows `max_body_bytes`.
    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        guard response != nil else { return }
        if response!.body.count + bytes.count <= config.maxBodyBytes { response!.body.append(contentsOf: bytes) } else { response = nil }
    }

    func completed(_ ending: ExchangeEnding) {
        guard let hold = ctx.idempotencyHold else { return }
        ctx.idempotencyHold = nil
        let store = ctx.server.idempotency, identity = ctx.identityKey
        if ending == .complete, let response, response.status < 500 {
            store.complete(identity: identity, key: hold.key, fingerprint: hold.fingerprint, response: response,
                           ttl: Double(config.ttl.milliseconds) / 1000, now: ctx.server.state.clock.now())
        } else {
            store.abandon(identity: identity, key: hold.key)
        }
    }
}
