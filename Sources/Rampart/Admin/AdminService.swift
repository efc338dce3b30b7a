import Foundation
import RampartLoop
import RampartTransport
import RampartProxy
import RampartHTTP

/// The admin listener (SPEC §9): every call needs the bearer token, compared in constant time.
/// Requests are small, so bodies are buffered (up to 1 MiB) and answered in one piece.
final class AdminService: RequestService {
    let context: ServerContext
    unowned let gateway: Gateway

    init(context: ServerContext, gateway: Gateway) {
        self.context = context; self.gateway = gateway
    }

    func begin(_ head: HTTPRequestHead, on connection: any ClientStream) -> ServerExchange {
        let requestID = RequestIDs.make().description
        // The dashboard page holds no data, so it needs no token (its API calls do).
        if let page = AdminDashboard.answer(head, connection: connection, requestID: requestID) { return page }
        let caller: String
        switch authorize(head) {
        case .allowed(let id): caller = id
        case .refused(let error):
            var e = error
            e.extraHeaders = [HTTPField(name: "WWW-Authenticate", value: "Bearer realm=\"rampart-admin\"")]
            if head.method != "GET" { audit(head, caller: nil, peer: connection.peerText, requestID: requestID, status: e.status, result: e.message) }
            return LocalExchange.error(connection, e, requestID: requestID, headers: nil)
        }
        return AdminExchange(service: self, connection: connection, head: head, requestID: requestID, caller: caller)
    }

    enum Authorization { case allowed(caller: String), refused(GatewayError) }

    /// The tokens come with the running config, so a reload that changes `admin.token_file` takes
    /// effect for the next call. No token configured refuses everything (an SSRF through a
    /// URL-fetching AI tool must not reach an open admin API) unless `insecure_no_auth` is set.
    private func authorize(_ head: HTTPRequestHead) -> Authorization {
        let active = context.state.current
        let tokens = active.adminTokens
        if tokens.isEmpty {
            if active.config.admin.insecureNoAuth { return .allowed(caller: "insecure_no_auth") }
            return .refused(GatewayError(status: 401, code: "UNAUTHENTICATED",
                                         message: "The admin API has no token configured, so every call is refused. Set admin.token_env or admin.token_file."))
        }
        guard let auth = head.headers["Authorization"] else {
            return .refused(GatewayError(status: 401, code: "UNAUTHENTICATED", message: "Admin calls need an Authorization: Bearer <token> header."))
        }
        guard auth.utf8.count > 7, auth.prefix(7).lowercased() == "bearer ", let id = tokens.match(Array(auth.utf8.dropFirst(7))) else {
            return .refused(GatewayError(status: 403, code: "FORBIDDEN", message: "The admin token is wrong."))
        }
        return .allowed(caller: id)
    }

    /// One line per mutating call (every method but GET), refused ones included: who (the token's
    /// non-secret id), what, and how it ended. Deleting a journaled save destroys its last copy.
    func audit(_ head: HTTPRequestHead, caller: String?, peer: String, requestID: String, status: Int, result: String?) {
        context.accessLog.audit([
            ("request_id", JSONText.quote(requestID)), ("method", JSONText.quote(head.method)), ("path", JSONText.quote(head.path)),
            // Raw: admin parameters carry no secrets (the token is a header), and `key=user:u1`
            // is exactly what an audit must show.
            ("query", head.query.map(JSONText.quote) ?? "null"), ("token_id", caller.map(JSONText.quote) ?? "null"),
            ("peer", JSONText.quote(peer)), ("status", String(status)), ("result", result.map(JSONText.quote) ?? "null")])
    }

    typealias Answer = (status: Int, json: String, contentType: String)

    /// What every admin and metrics answer carries besides the id: ops tools read them, no page embeds them.
    static let fixedFields = [HTTPField(name: "X-Content-Type-Options", value: "nosniff")]

    /// Routes one admin call; store-backed answers may come later (Redis). Mutations are POST/DELETE only.
    func handle(_ head: HTTPRequestHead, body: [UInt8], respond: @escaping (Answer) -> Void) {
        if head.path == "/admin/quotas/top" && head.method == "GET" {
            AdminQuotasTop.handle(head, context: context, respond: respond)
            return
        }
        if head.path == "/admin/quotas" && (head.method == "GET" || head.method == "DELETE") {
            AdminQuotas(context: context).handle(head, respond: respond)
            return
        }
        if head.path.hasPrefix("/admin/breakers"), let answer = AdminBreakers.handle(head, state: context.state) {
            respond(answer)
            return
        }
        if head.path.hasPrefix("/admin/upstreams"), let answer = AdminUpstreams.handle(head, state: context.state) {
            respond(answer)
            return
        }
        if head.path == "/admin/usage" && head.method == "GET" { AdminUsage.handle(head, context: context, respond: respond); return }
        if head.path.hasPrefix("/admin/saves"), AdminSaves.handle(head, context: context, respond: respond) { return }
        if head.path == "/admin/reload" && head.method == "POST" { reloadOffTheLoop(respond: respond); return }
        respond(handleNow(head, body: body))
    }

    /// A reload reads the config file, certificates and keys: blocking file I/O that must not
    /// stall this loop's traffic. It runs on a helper thread and is answered back on the loop.
    private func reloadOffTheLoop(respond: @escaping (Answer) -> Void) {
        let gateway = self.gateway, loop = context.loop   // Gateway is Sendable: reloads are serialised inside
        let back = LoopBound((service: self, respond: respond), on: loop)
        let thread = Thread {
            let outcome = gateway.reload()
            loop.execute { back.value.respond(back.value.service.reloadAnswer(outcome)) }
        }
        thread.name = "rampart-reload"
        thread.start()
    }

    private func reloadAnswer(_ outcome: Gateway.ReloadOutcome) -> Answer {
        switch outcome {
        case .reloaded(let hash):
            return (200, JSONText.object([("reloaded", "true"), ("config_hash", JSONText.quote(hash))]), "application/json")
        case .rejected(let errors):
            return (400, JSONText.object([("reloaded", "false"), ("config_hash", JSONText.quote(context.state.current.config.hash)),
                                          ("errors", JSONText.array(errors.map { errorJSON($0) }))]), "application/json")
        }
    }

    private func handleNow(_ head: HTTPRequestHead, body: [UInt8]) -> Answer {
        let m = head.method
        switch (m, head.path) {
        case ("GET", "/admin/status"): return (200, status(), "application/json")
        case ("GET", "/admin/config"): return (200, context.state.current.config.source.redactingSecrets().jsonText(), "application/json")
        case ("POST", "/admin/config/validate"):
            do {
                let c = try ConfigLoader.parse(bytes: body)
                return (200, JSONText.object([("valid", "true"), ("config_hash", JSONText.quote(c.hash)), ("errors", "[]")]), "application/json")
            } catch {
                return (400, validationBody(error.errors), "application/json")
            }
        case ("GET", "/metrics"), ("GET", "/admin/metrics"):
            return (200, MetricsService.exposition(context.state), MetricsService.contentType)
        default:
            let known = ["/admin/status", "/admin/config", "/admin/config/validate", "/admin/reload", "/metrics", "/admin/quotas",
                         "/admin/quotas/top", "/admin/breakers", "/admin/usage", "/admin/saves", "/admin/upstreams"]
            if known.contains(head.path) {
                return (405, GatewayError(status: 405, code: "METHOD_NOT_ALLOWED", message: "\(m) is not allowed on \(head.path).").bodyText, "application/json")
            }
            return (404, GatewayError(status: 404, code: "NOT_FOUND", message: "There is no admin endpoint \(head.path).").bodyText, "application/json")
        }
    }

    private func errorJSON(_ e: ConfigError) -> String {
        JSONText.object([("path", JSONText.quote(e.path)), ("message", JSONText.quote(e.message))])
    }

    private func validationBody(_ errors: [ConfigError]) -> String {
        JSONText.object([("valid", "false"), ("errors", JSONText.array(errors.map { errorJSON($0) }))])
    }

    private func status() -> String {
        let state = context.state
        let config = state.current.config
        let uptime = Double((ContinuousClock.now - state.startedAt).components.seconds)
        let requests = state.metrics.requestCounts()
        let upstreams = config.upstreams.keys.sorted().map { name -> (String, String) in
            let u = config.upstreams[name]!
            let breaker = context.state.breakers.snapshot(upstream: name, now: context.state.wallNow())?.state
            return (name, JSONText.object([("url", JSONText.quote(u.url)),
                                           ("transport", JSONText.quote(u.usesNativeClient ? "http1" : "curl")),
                                           ("breaker", breaker.map(JSONText.quote) ?? "null"),
                                           ("pool", AdminUpstreams.render(u, state: context.state))]))
        }
        return JSONText.object([
            ("version", JSONText.quote(RampartVersion.version)),
            ("uptime_seconds", JSONText.number(uptime)),
            ("started_at", JSONText.number(state.startedAtUnix)),
            ("config_hash", JSONText.quote(config.hash)),
            ("config_path", JSONText.quote(state.configPath)),
            ("listeners", JSONText.object([
                ("main", JSONText.quote(SocketAddress(host: config.server.listen.host, port: gateway.mainPort).description)),
                ("admin", gateway.adminPort.map { JSONText.quote(SocketAddress(host: config.admin.listen?.host ?? "127.0.0.1", port: $0).description) } ?? "null"),
            ])),
            ("workers", String(state.workerCount)),
            ("draining", state.draining.load(ordering: .relaxed) ? "true" : "false"),
            ("connections", String(state.metrics.activeConnections.load(ordering: .relaxed))),
            ("in_flight", String(state.metrics.inFlight.load(ordering: .relaxed))),
            ("requests_total", String(requests.total)),
            ("requests_by_class", JSONText.object(["1xx", "2xx", "3xx", "4xx", "5xx"].map { ($0, String(requests.byClass[$0] ?? 0)) })),
            ("upstreams", JSONText.object(upstreams)),
            ("store", JSONText.object([("kind", JSONText.quote(config.store.kind.rawValue)),
                                       ("healthy", context.quotas.isHealthy ? "true" : "false"),
                                       ("last_error", context.quotas.lastError.map(JSONText.quote) ?? "null")])),
        ])
    }
}

/// Buffers an admin request body, then answers it.
final class AdminExchange: ServerExchange {
    private let service: AdminService
    private unowned let connection: any ClientStream
    private let head: HTTPRequestHead
    private let requestID: String
    /// The token's audit id (or `insecure_no_auth`).
    private let caller: String
    private var body: [UInt8] = []
    private var tooLarge = false

    init(service: AdminService, connection: any ClientStream, head: HTTPRequestHead, requestID: String, caller: String) {
        self.service = service; self.connection = connection; self.head = head; self.requestID = requestID; self.caller = caller
    }

    func requestBody(_ bytes: UnsafeRawBufferPointer) {
        if body.count + bytes.count > 1 << 20 { tooLarge = true; return }
        body.append(contentsOf: bytes)
    }

    func requestBodyEnded() {
        if tooLarge {
            let e = GatewayError(status: 413, code: "PAYLOAD_TOO_LARGE", message: "Admin request bodies are limited to 1 MiB.")
            if head.method != "GET" { service.audit(head, caller: caller, peer: connection.peerText, requestID: requestID, status: 413, result: e.message) }
            _ = LocalExchange.error(connection, e, requestID: requestID, headers: nil)
            return
        }
        // The audit line is written when the action ends, even if the caller hung up before the
        // answer (a slow reload or replay still happened).
        let (service, head, caller, requestID, peer) = (self.service, self.head, self.caller, self.requestID, connection.peerText)
        service.handle(head, body: body) { [weak self] answer in
            if head.method != "GET" {
                service.audit(head, caller: caller, peer: peer, requestID: requestID, status: answer.status, result: Self.summary(answer.json, status: answer.status))
            }
            self?.send(answer)
        }
    }

    private func send(_ answer: AdminService.Answer) {
        let (status, text, type) = answer
        let bytes = Array((text.hasSuffix("\n") ? text : text + "\n").utf8)
        connection.sendHead(LocalReply.head(status: status, contentType: type, bodyLength: bytes.count, requestID: requestID,
                                            extra: AdminService.fixedFields, headersConfig: nil, tls: false))
        _ = connection.sendBody(bytes)
        connection.endResponse()
    }

    func resumeResponse() {}
    func connectionClosed() {}

    /// What the audit line records of an answer: its error message, or "ok".
    static func summary(_ json: String, status: Int) -> String {
        guard status >= 400 else { return "ok" }
        if case .object(let top)? = try? JSONValue.parse(json), let err = top.first(where: { $0.key == "error" })?.value,
           case .object(let fields) = err, case .string(let message)? = fields.first(where: { $0.key == "message" })?.value {
            return message
        }
        return String(json.prefix(200))
    }
}

extension GatewayError {
    var bodyText: String { String(decoding: body(requestID: RequestIDs.make().description), as: UTF8.self) }
}

extension JSONValue {
    /// Secrets never live in gateway.json (they are named by `*_env` keys and `*_file` paths, which
    /// stay visible), but a value under a key that looks like one is masked anyway, in case someone
    /// pasted a secret where a name belongs; so is the password of a URL (`redis://:pw@host`).
    func redactingSecrets() -> JSONValue {
        switch self {
        case .object(let members):
            return .object(members.map { m in
                let k = m.key.lowercased()
                let names = k.hasSuffix("_env") || k.hasSuffix("_file")
                let looksSecret = !names && (k.contains("secret") || k.contains("password") || k.contains("token") || k == "authorization")
                if looksSecret, case .string = m.value { return (m.key, .string("[redacted]")) }
                return (m.key, m.value.redactingSecrets())
            })
        case .array(let items): return .array(items.map { $0.redactingSecrets() })
        case .string(let s): return .string(Self.redactingURLPassword(s))
        default: return self
        }
    }

    /// `scheme://user:password@host…` → `scheme://user:[redacted]@host…`; a userinfo without a colon
    /// (`redis://password@host`, how Redis URLs carry a bare password) is masked whole.
    static func redactingURLPassword(_ s: String) -> String {
        guard let scheme = s.range(of: "://") else { return s }
        let rest = s[scheme.upperBound...]
        let authority = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
        guard let at = authority.lastIndex(of: "@") else { return s }
        let userinfo = authority[..<at]
        let masked = userinfo.firstIndex(of: ":").map { userinfo[...$0] + "[redacted]" } ?? "[redacted]"
        return String(s[..<scheme.upperBound]) + masked + String(s[at...])
    }
}

