import RampartHTTP
import RampartLoop
import RampartTransport

/// Idempotency keys (SPEC §7.4), whole in one filter. The first request with a key runs; a repeat
/// gets the stored answer (`Idempotent-Replayed: true`); a repeat while the first still runs gets
/// 409; the same key with another body gets 422. Keys are per identity: one user's key never
/// replays another's response. While a request holds its key, its response is kept as it streams
/// and stored when it completes with a non-5xx status within `max_body_bytes`; anything else frees
/// the key so a retry can run.
struct IdempotencyPolicy: RouteFilter {
    package let config: IdempotencyConfig
    package let onUnavailable: StoreConfig.OnUnavailable
    var phases: FilterPhases { [.requestHead, .requestBody, .response, .end] }

    private func key(_ ctx: RequestContext) -> String? { ctx.head.headers[config.header] }

    package func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        if let key = key(ctx), key.isEmpty || key.utf8.count > 255 {
            done(.reject(GatewayError(status: 400, code: "BAD_REQUEST", message: "Idempotency keys are 1 to 255 characters long.")))
        } else {
            done(.proceed)
        }
    }

    func readsBody(_ ctx: RequestContext) -> Bool { key(ctx) != nil }

    /// Fingerprinted with the body the upstream will see (after validation and truncation).
    package func requestBody(_ body: [UInt8], _ ctx: RequestContext, _ done: @escaping (BodyVerdict) -> Void) {
        guard let key = key(ctx) else { done(.proceed(body)); return }
        let fingerprint = IdempotencyFingerprint.of(method: ctx.head.method, path: ctx.head.target, body: body)
        let store = ctx.server.idempotency, identity = ctx.identityKey
        store.begin(identity: identity, key: key, fingerprint: fingerprint, ttl: Double(config.ttl.milliseconds) / 1000,
                    now: ctx.server.state.wallNow()) { result in
            switch result {
            case .success(.proceed):
                // The exchange ended while the store answered (the client left): let the key go.
                if ctx.ended { store.abandon(identity: identity, key: key); return }
                ctx.idempotencyHold = (key, fingerprint)
                done(.proceed(body))
            case .success(.replay(let stored)):
                done(.replay(stored))
            case .success(.inProgress):
                done(.reject(GatewayError(status: 409, code: "IDEMPOTENCY_IN_PROGRESS",
                                          message: "A request with this Idempotency-Key is still running; retry when it has finished.", retryAfterSeconds: 1)))
            case .success(.mismatch):
                done(.reject(GatewayError(status: 422, code: "IDEMPOTENCY_MISMATCH", message: "This Idempotency-Key was used with a different request.")))
            case .failure(let e):
                ctx.server.metrics.storeError(kind: "idempotency")
                ctx.server.accessLog.event(.warn, "idempotency store unavailable", [("request_id", JSONText.quote(ctx.requestID)), ("reason", JSONText.quote(e.reason))])
                if onUnavailable == .allow { done(.proceed(body)) }
                else { done(.reject(GatewayError(status: 503, code: "OVERLOADED", message: "The idempotency store is unavailable; try again shortly.", retryAfterSeconds: 1))) }
            }
        }
    }

    package func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? {
        guard ctx.idempotencyHold != nil else { return nil }
        // A confirmed save's stream ends with an event of its own; it is never replayed.
        if ctx.route.streamSave != nil, (200..<300).contains(head.status),
           head.headers["Content-Type"]?.lowercased().hasPrefix("text/event-stream") == true { return nil }
        return IdempotencyCapture(ctx, config: config)
    }

    /// No response filter took the key (no response head: an error, a timeout, the client gone):
    /// free it so a retry can run.
    func exchangeEnded(_ ctx: RequestContext) {
        guard let hold = ctx.idempotencyHold else { return }
        ctx.idempotencyHold = nil
        ctx.server.idempotency.abandon(identity: ctx.identityKey, key: hold.key)
    }
}

final class IdempotencyCapture: ResponseFilter {
    private let ctx: RequestContext
    private let config: IdempotencyConfig
    private var response: StoredResponse?

    package init(_ ctx: RequestContext, config: IdempotencyConfig) { self.ctx = ctx; self.config = config }

    /// Stored without per-request fields; a replay adds fresh ones.
    package func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict {
        var kept = ForwardingHeaders.clientResponseHeaders(headers, requestID: ctx.id)
        for name in ["X-Request-Id", "Via", "Content-Length", "Transfer-Encoding", "Date"] { kept.remove(name) }
        response = StoredResponse(status: status, headers: kept.fields, body: [])
        return .pass
    }

    /// Dropped (and the key freed at the end) once it outgrows `max_body_bytes`.
    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        guard response != nil else { return }
        if response!.body.count + bytes.count <= config.maxBodyBytes { response!.body.append(contentsOf: bytes) } else { response = nil }
    }

    package func completed(_ ending: ExchangeEnding) {
        guard let hold = ctx.idempotencyHold else { return }
        ctx.idempotencyHold = nil
        let store = ctx.server.idempotency, identity = ctx.identityKey
        if ending == .complete, let response, response.status < 500 {
            store.complete(identity: identity, key: hold.key, fingerprint: hold.fingerprint, response: response,
                           ttl: Double(config.ttl.milliseconds) / 1000, now: ctx.server.state.wallNow())
        } else {
            store.abandon(identity: identity, key: hold.key)
        }
    }
}
