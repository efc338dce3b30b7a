import RampartHTTP
import RampartLoop
import RampartTransport

/// A WebSocket handshake's end of the exchange: the upstream's 101 is checked and relayed, then a
/// `WebSocketSession` carries the frames until either side closes; the exchange completes then,
/// with one access line for the whole session.
extension ProxyExchange {
    func upstreamUpgraded(_ upstreamHead: HTTPResponseHead, tunnel: UpstreamTunnel) {
        guard stage == .proxying, let ws = ctx.route.websocket else { tunnel.close(); return }
        facts.upstreamHeadAt = context.loop.now
        facts.upstreamStatus = 101
        if let problem = Self.handshakeProblem(upstreamHead, request: ctx.head) {
            tunnel.close()
            ctx.logReason = problem
            sendError(.badGateway("The upstream's WebSocket handshake was invalid."), note: "invalid_response")
            return
        }
        // The client's head: Rampart's security headers and request id, the upstream's end-to-end
        // fields (Sec-WebSocket-Accept, -Protocol, -Extensions), and the switch itself.
        var head = ResponseFinish.proxied(upstreamHead, ctx: ctx, tls: connection.isTLS).head
        head.headers.set("Connection", "Upgrade")
        head.headers.set("Upgrade", "websocket")
        let compressed = upstreamHead.headers.contains("Sec-WebSocket-Extensions")
        stage = .tunnel
        responseStarted = true
        let session = WebSocketSession(exchange: self, client: connection, upstream: tunnel, config: ws, compressed: compressed,
                                       usage: ctx.route.realtime ? RealtimeUsage(ctx: ctx) : nil)
        webSocket = session
        connection.sendHead(head)
        session.start()
    }

    /// Shutdown began: the session asks both sides to close (1001) and gives them its grace period.
    func drainStarted() { webSocket?.close(.goingAway, reason: "server shutting down") }

    /// The session ended (either side closed, a limit, shutdown): one access line for all of it.
    func tunnelEnded(code: UInt16, bytesIn: Int, bytesOut: Int, error: String?) {
        stage = .done
        webSocket = nil
        facts.bytesIn += bytesIn
        facts.bytesOut += bytesOut
        if code != 1000 && code != 1001 && code != 1005 && ctx.logReason == nil { ctx.logReason = "websocket close \(code)" }
        complete(status: 101, error: error ?? (code == 1006 ? "websocket_abnormal_close" : nil))
    }

    /// A 101 is trusted only with `Upgrade: websocket` and the accept value the client's key calls
    /// for (RFC 6455 §4.1): anything else would fail in the client's own check, after the switch.
    static func handshakeProblem(_ head: HTTPResponseHead, request: HTTPRequestHead) -> String? {
        guard head.headers.values("Upgrade").contains(where: { WebSocketHandshake.hasToken($0, "websocket") }) else {
            return "upstream 101 without Upgrade: websocket"
        }
        guard let key = request.headers["Sec-WebSocket-Key"], head.headers["Sec-WebSocket-Accept"] == WebSocketHandshake.accept(for: key) else {
            return "upstream 101 with a wrong Sec-WebSocket-Accept"
        }
        return nil
    }
}
