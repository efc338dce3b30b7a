import CLinux
import RampartLoop
import RampartTransport
import RampartHTTP

/// The main listener's request story, read top to bottom:
/// request id → Rampart's own paths → route → the route's filter chain and the upstream
/// (ProxyExchange).
package final class ProxyService: RequestService {
    package let context: ServerContext
    package init(context: ServerContext) { self.context = context }

    package func begin(_ head: HTTPRequestHead, on connection: any ClientStream) -> ServerExchange {
        let started = context.loop.now
        let active = context.active
        let config = active.config
        // The client's id when it sent a sane one (looked up by a lowercase literal: no String
        // unless the field is there), else a fresh one.
        let sent = head.headers.firstIndex(lowercase: "x-request-id").map { head.headers.value(at: $0) }
        let id = sent.flatMap(RequestID.init(sent:)) ?? RequestIDs.make()

        if ASCIIBytes.hasPrefix(head.path, "/_rampart/") {
            if let local = RampartPaths.answer(head, connection: connection, context: context, requestID: id.description) {
                return local
            }
        }

        guard let hit = active.routes.matchIndex(method: head.method, path: head.path) else {
            return reject(.notFound(), head: head, connection: connection, requestID: id.description, route: nil, started: started)
        }
        let plan = active.plans[hit.index]
        let bodyLimit = plan.bodyLimit
        if case .contentLength(let n) = head.framing, n > bodyLimit {
            return reject(.payloadTooLarge(limit: bodyLimit),
                          head: head, connection: connection, requestID: id.description, route: plan.route.name, started: started)
        }

        // A WebSocket handshake: only on a route that accepts them, and only a valid one.
        let webSocket = WebSocketHandshake.asksForWebSocket(head)
        if webSocket, let problem = plan.route.websocket == nil ? "This route does not accept WebSocket connections." : WebSocketHandshake.problem(head) {
            return reject(GatewayError(status: 400, code: "BAD_REQUEST", message: problem),
                          head: head, connection: connection, requestID: id.description, route: plan.route.name, started: started)
        }

        // The route's filters (CORS, identity, quotas, validation, truncation…) run inside the
        // exchange, so a filter that waits (Redis) never blocks the loop.
        let ctx = RequestContext(head: head, plan: plan, config: config, requestID: id,
                                 peerIP: connection.peerIP, peerText: connection.peerText, server: context)
        ctx.params = hit.params
        ctx.isWebSocket = webSocket
        ctx.http2 = connection.isHTTP2
        if let tracing = config.tracing, context.state.spans != nil { ctx.trace = RequestTrace.begin(head, ratio: tracing.sampleRatio) }
        let exchange = ProxyExchange(ctx: ctx, connection: connection, started: started)
        exchange.start()
        return exchange
    }

    private func reject(_ error: GatewayError, head: HTTPRequestHead, connection: any ClientStream,
                        requestID: String, route: String?, started: UInt64) -> ServerExchange {
        let headers = context.active.config.headers
        let local = LocalExchange.error(connection, error, requestID: requestID, headers: headers)
        let seconds = Double(context.loop.monotonicNow() &- started) / 1e9
        context.metrics.recordRequest(route: route ?? "-", status: error.status, seconds: seconds, http2: connection.isHTTP2)
        context.accessLog.log(AccessRecord(requestID: requestID, method: head.method, path: head.path, query: head.query, route: route, user: nil,
                                           status: error.status, upstreamStatus: nil, bytesIn: 0, bytesOut: local.bytesOut,
                                           durationMs: seconds * 1000, upstreamMs: nil, error: error.code, reason: error.message,
                                           peer: connection.peerText))
        return local
    }
}

/// Rampart's own paths on the main listener: health and readiness for load balancers.
enum RampartPaths {
    package static func answer(_ head: HTTPRequestHead, connection: any ClientStream, context: ServerContext, requestID: String) -> ServerExchange? {
        let headers = context.active.config.headers
        switch head.path {
        case "/_rampart/healthz":
            return LocalExchange.json(connection, status: 200, body: "{\"status\":\"ok\"}\n", requestID: requestID, headers: headers)
        case "/_rampart/readyz":
            // Ready = config loaded (always, once running), store reachable, not draining.
            let draining = context.state.draining.load(ordering: .relaxed)
            let storeOK = context.quotas.isHealthy
            var fields: [(String, String)] = [("status", JSONText.quote(draining ? "draining" : storeOK ? "ready" : "store_unavailable")),
                                              ("config", "true"), ("store", storeOK ? "true" : "false"), ("draining", draining ? "true" : "false"),
                                              ("save_journal_depth", String(context.state.journal.depth))]
            if !storeOK { fields.append(("reason", JSONText.quote("quota store unreachable: " + (context.quotas.lastError ?? "no connection")))) }
            return LocalExchange.json(connection, status: draining || !storeOK ? 503 : 200, body: JSONText.object(fields) + "\n",
                                      requestID: requestID, headers: headers)
        default:
            if head.method == "POST" && head.path.hasPrefix("/_rampart/saves/") && head.path.hasSuffix("/retry") {
                return SaveRetry.begin(head, connection: connection, context: context, requestID: requestID)
            }
            return nil
        }
    }
}
