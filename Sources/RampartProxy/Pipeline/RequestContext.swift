import RampartHTTP
import RampartLoop
import RampartTransport

/// What the route's filters know and decide about one request. Lives on the request's loop.
final class RequestContext {
    let head: HTTPRequestHead
    /// The matched route with what is resolved for it once per config.
    let plan: RoutePlan
    var route: RouteConfig { _read { yield plan.route } }
    let config: GatewayConfig
    /// Inline when Rampart made it; `requestID` is its text, made on first use (errors, logs).
    let id: RequestID
    lazy var requestID: String = id.description
    let peerIP: [UInt8]
    let peerText: String
    package let server: ServerContext
    /// The client's address: the peer, or the first untrusted hop of X-Forwarded-For when the
    /// peer is a trusted proxy.
    @exclusivity(unchecked) var clientIP: String
    /// The verified user id (JWT or trusted header), nil for anonymous requests.
    @exclusivity(unchecked) var user: String?
    /// Fields every response to this request carries (CORS, rate-limit headers), errors included.
    @exclusivity(unchecked) var responseHeaders = HTTPHeaders()
    /// The smallest remaining quota, for the access log.
    @exclusivity(unchecked) var quotaRemaining: Int?
    /// The exchange has ended: a filter answering late (a store round trip) lets go of what it took.
    @exclusivity(unchecked) var ended = false
    /// Rampart asked the provider for stream usage the client did not ask for (`UsageInjection`).
    @exclusivity(unchecked) var usageInjected = false
    /// The request came on an HTTP/2 stream (its metrics say `protocol="h2"`).
    @exclusivity(unchecked) var http2 = false
    /// A valid WebSocket handshake on a route that accepts them (`ProxyService` decides).
    @exclusivity(unchecked) var isWebSocket = false

    /// What only some requests have, kept in one box made on the first fact written: a plain
    /// request then lets go of one empty reference instead of one per fact.
    private final class Extras {
        var params: [(name: String, value: String)] = []
        var truncated: String?
        var logReason: String?
        var stripUpstreamHeaders: [String] = []
        var idempotencyHold: (key: String, fingerprint: String)?
        var usageEstimate: TokenUsage?
        var countedUsage: TokenUsage?
        var trace: RequestTrace?
        var webSocketSlot: WebSocketSlot?
    }
    @exclusivity(unchecked) private var extras: Extras?
    private var written: Extras {
        if let extras { return extras }
        let made = Extras()
        extras = made
        return made
    }

    /// The route template's `{name}` segments, for save templates.
    var params: [(name: String, value: String)] {
        get { extras?.params ?? [] }
        set { if extras != nil || !newValue.isEmpty { written.params = newValue } }
    }
    /// What truncation did (`dropped=N; tokens=A->B`), for the access log.
    var truncated: String? {
        get { extras?.truncated }
        set { if extras != nil || newValue != nil { written.truncated = newValue } }
    }
    /// Why a stage refused the request, in more detail than the client is told (the access log's `reason`).
    var logReason: String? {
        get { extras?.logReason }
        set { if extras != nil || newValue != nil { written.logReason = newValue } }
    }
    /// Request headers a stage decided the upstream must not see (a spoofed identity header).
    var stripUpstreamHeaders: [String] {
        get { extras?.stripUpstreamHeaders ?? [] }
        set { if extras != nil || !newValue.isEmpty { written.stripUpstreamHeaders = newValue } }
    }
    /// The idempotency key this request holds while it runs (owned by `IdempotencyPolicy`: set when
    /// the store said proceed, then stored with the response or freed when the exchange ends).
    var idempotencyHold: (key: String, fingerprint: String)? {
        get { extras?.idempotencyHold }
        set { if extras != nil || newValue != nil { written.idempotencyHold = newValue } }
    }
    /// What this call is charged when its response reports no usage (`UsageCounting`).
    var usageEstimate: TokenUsage? {
        get { extras?.usageEstimate }
        set { if extras != nil || newValue != nil { written.usageEstimate = newValue } }
    }
    /// The usage counted for this call, real or estimated, once its response ended (`UsageFilter`).
    var countedUsage: TokenUsage? {
        get { extras?.countedUsage }
        set { if extras != nil || newValue != nil { written.countedUsage = newValue } }
    }
    /// The request's trace when `tracing` is on (its span goes to the collector at the end).
    var trace: RequestTrace? {
        get { extras?.trace }
        set { if extras != nil || newValue != nil { written.trace = newValue } }
    }
    /// The per-user socket slot this handshake holds (owned by `WebSocketSessions`).
    var webSocketSlot: WebSocketSlot? {
        get { extras?.webSocketSlot }
        set { if extras != nil || newValue != nil { written.webSocketSlot = newValue } }
    }

    package init(head: HTTPRequestHead, plan: RoutePlan, config: GatewayConfig, requestID: RequestID,
         peerIP: [UInt8], peerText: String, server: ServerContext) {
        self.head = head; self.plan = plan; self.config = config; self.id = requestID
        self.peerIP = peerIP; self.peerText = peerText; self.server = server
        self.clientIP = ClientAddress.resolve(peerIP: peerIP, peerText: peerText, head: head,
                                              trustedProxies: config.server.trustedProxies)
    }

    /// The key that identifies the caller for quotas: `user:<id>` when known, else `ip:<addr>`.
    var identityKey: String { user.map { "user:" + $0 } ?? "ip:" + clientIP }
}

/// The client address as a quota key or log field sees it.
enum ClientAddress {
    package static func resolve(peerIP: [UInt8], peerText: String, head: HTTPRequestHead, trustedProxies: [CIDR]) -> String {
        guard trustedProxies.contains(where: { $0.contains(peerIP) }) else { return peerText }
        // Walk X-Forwarded-For from the right, skipping our trusted proxies: the first other
        // address is the client (what nginx's real_ip_recursive does).
        let hops = head.headers.values("X-Forwarded-For").flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces() }
        for hop in hops.reversed() {
            guard let ip = Socket.parseIP(hop) else { return peerText }
            if !trustedProxies.contains(where: { $0.contains(ip) }) { return hop }
        }
        return hops.first ?? peerText
    }
}
