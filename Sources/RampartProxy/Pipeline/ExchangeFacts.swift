import RampartHTTP
import RampartTransport

/// What one exchange's access line says about it, gathered as it runs: bytes each way, the
/// upstream's status and when its head came, and why Rampart answered or cut it.
struct ExchangeFacts {
    var bytesIn = 0
    var bytesOut = 0
    var upstreamStatus: Int?
    var upstreamHeadAt: UInt64?
    /// The message of Rampart's own error reply (the access line's `reason`).
    var errorMessage: String?
    /// What cut a started stream (its `error`), kept for the save that still follows the cut.
    var cutError: String?

    /// The exchange that began at `started` is over: its request metric and its access line.
    /// The breaker's state comes from the request's upstream side when it had one (no lookup).
    /// Mutating only so the exchange's facts are read where they lie: a method called on a value
    /// stored in a class works on a copy of it.
    mutating func report(_ ctx: RequestContext, status: Int, error: String?, started: UInt64, upstream: UpstreamAttempts?, save: String?, peer: String) {
        let context = ctx.server
        let now = context.loop.monotonicNow()
        context.metrics.recordRequest(route: ctx.route.name, status: status, seconds: Double(now &- started) / 1e9, http2: ctx.http2)
        if context.accessLog.enabled {
            let breaker = upstream.map { $0.breakerState } ?? context.state.breakers.cell(ctx.plan.breakerName)?.state.rawValue
            context.accessLog.log(record(ctx, status: status, error: error, started: started, now: now, retries: upstream?.retries ?? 0,
                                         breaker: breaker, save: save, peer: peer))
        }
        if let trace = ctx.trace, trace.own.sampled, let sink = context.state.spans {
            sink.export(span(ctx, trace: trace, status: status, error: error, started: started, now: now, retries: upstream?.retries ?? 0,
                             server: upstream?.lastServer))
        }
    }

    /// The access line (SPEC §9) for an exchange that began at `started` and ends at `now`.
    func record(_ ctx: RequestContext, status: Int, error: String?, started: UInt64, now: UInt64, retries: Int,
                breaker: String?, save: String?, peer: String) -> AccessRecord {
        let head = ctx.head
        return AccessRecord(
            requestID: ctx.requestID, method: head.method, path: head.path, query: head.query, route: ctx.route.name, user: ctx.user,
            status: status, upstreamStatus: upstreamStatus, bytesIn: bytesIn, bytesOut: bytesOut,
            durationMs: Double(now &- started) / 1e6, upstreamMs: upstreamHeadAt.map { Double($0 &- started) / 1e6 },
            retries: retries, breaker: breaker, quotaRemaining: ctx.quotaRemaining, truncated: ctx.truncated, save: save,
            error: error, reason: ctx.logReason ?? errorMessage, peer: peer)
    }
}

extension UpstreamRequest {
    /// The request the upstream gets for the client's: forwarding headers (SPEC §6.2), minus those
    /// a filter decided it must not see, the route's base path, and the body's framing.
    init(for ctx: RequestContext, connection: any ClientStream) {
        let plan = ctx.plan
        var fields = ForwardedRequestFields(ctx.head.headers)
        ForwardingHeaders.forwardRequest(
            ctx.head, into: &fields, peerIP: ctx.peerIP, peerText: ctx.peerText, trustedProxies: ctx.config.server.trustedProxies,
            requestID: ctx.id, authority: plan.upstream.authority, https: plan.upstream.endpoint.isHTTPS, tls: connection.isTLS)
        // Edits beyond forwarding are made on the list itself (the usual request needs none).
        if !ctx.stripUpstreamHeaders.isEmpty || plan.readsResponseBodies || ctx.trace != nil || ctx.isWebSocket {
            fields = ForwardedRequestFields(Self.edited(fields.materialized(), for: ctx))
        }
        let length: BodyLength
        switch ctx.head.framing {
        case .none: length = .none
        case .contentLength(let n): length = .known(n)
        case .chunked: length = .streamed
        }
        let basePath = plan.upstream.basePath
        self.init(endpoint: plan.upstream.endpoint, method: ctx.head.method, target: basePath.isEmpty ? ctx.head.target : basePath + ctx.head.target,
                  fields: consume fields, body: length, connectTimeoutMs: ctx.plan.deadlines.connectMs, upgrade: ctx.isWebSocket)
    }

    /// A filter's removals, the identity encoding a route that reads response bodies asks for,
    /// the trace context, and a WebSocket handshake's own hop-by-hop fields.
    private static func edited(_ forwarded: HTTPHeaders, for ctx: RequestContext) -> HTTPHeaders {
        var headers = forwarded
        for name in ctx.stripUpstreamHeaders { headers.remove(name) }
        if ctx.plan.readsResponseBodies { headers.set("Accept-Encoding", "identity") }
        // The upstream's parent is Rampart's span; `tracestate` passes as an end-to-end field.
        if let trace = ctx.trace { headers.set("traceparent", trace.own.header) }
        if ctx.isWebSocket {
            // Hop-by-hop fields the handshake itself needs (they were stripped with the others).
            headers.add("Connection", "Upgrade")
            headers.add("Upgrade", "websocket")
            // A realtime route reads its usage events: no compression may hide them.
            if ctx.route.realtime { headers.remove("Sec-WebSocket-Extensions") }
        }
        return headers
    }
}
