import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// routes: match rules, upstream resolution and the per-route policies.
extension ConfigDecoder {
    static let routeKeys = ["name", "match", "upstream", "format", "auth", "quotas", "stream_save", "truncate", "body_limit",
                            "validate", "headers", "scrub_errors", "idempotency", "timeouts", "retry", "circuit_breaker",
                            "websocket"]

    /// Without a routes section everything goes to the only upstream (a one-line catch-all).
    func decodeRoutes(_ field: Field?, upstreams: [String: UpstreamConfig], headers: HeadersConfig,
                      identity: IdentityConfig) -> [RouteConfig] {
        guard let field else {
            guard upstreams.count == 1, let only = upstreams.values.first else { return [] }
            return [RouteConfig(name: "default", match: RouteMatch(methods: nil, path: .prefix("/")), upstream: only.name,
                                timeouts: only.timeouts, retry: only.retry)]
        }
        guard let items = field.elements else { return [] }
        var routes: [RouteConfig] = []
        var names: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            guard let route = decodeRoute(item, upstreams: upstreams, headers: headers, identity: identity) else { continue }
            if route.name.isEmpty {
                // Already reported as missing or invalid; not a duplicate.
            } else if let first = names[route.name] {
                diag.error(ConfigPath.key(item.path, "name"),
                           "duplicate route name \(JSONValue.string(route.name).jsonText()) (also routes[\(first)])")
            } else {
                names[route.name] = i
            }
            routes.append(route)
        }
        return routes
    }

    private func decodeRoute(_ field: Field, upstreams: [String: UpstreamConfig], headers: HeadersConfig,
                             identity: IdentityConfig) -> RouteConfig? {
        guard let r = field.object(keys: Self.routeKeys) else { return nil }
        var name = ""
        if let f = r.required("name"), let s = f.nonEmptyString {
            if isSimpleName(s) { name = s } else { f.fail("route names may use only letters, digits, '-', '_' and '.'") }
        }
        let match = r.required("match").flatMap(decodeMatch) ?? RouteMatch(methods: nil, path: .prefix("/"))
        let upstream = resolveUpstream(r, at: field.path, upstreams: upstreams)
        var route = RouteConfig(name: name, match: match, upstream: upstream?.name ?? "",
                                timeouts: upstream?.timeouts ?? TimeoutsConfig(), retry: upstream?.retry)
        if let f = r["auth"], let v = f.oneOf(RouteConfig.Auth.self) {
            route.auth = v
            if v == .required && identity.jwt == nil && identity.trustedHeader == nil {
                f.fail("\"required\" needs identity.jwt or identity.trusted_header; no request could ever pass")
            }
        }
        for q in r["quotas"]?.elements ?? [] {
            guard let o = q.object(keys: ["limit", "per", "key", "unit", "tokens"]) else { continue }
            let limit = o.required("limit")?.int(min: 1)
            let per = o.required("per")?.duration()
            let key = o["key"].map { $0.oneOf(QuotaConfig.Key.self) } ?? .user
            let unit = o["unit"].map { $0.oneOf(QuotaConfig.Unit.self) } ?? .requests
            var tokens: QuotaConfig.Tokens? = .total
            if let f = o["tokens"] {
                tokens = f.oneOf(QuotaConfig.Tokens.self)
                if unit == .requests { f.fail("\"tokens\" applies to token quotas only; add \"unit\": \"tokens\"") }
            }
            if let limit, let per, let key, let unit, let tokens {
                route.quotas.append(QuotaConfig(limit: limit, per: per, key: key, unit: unit, tokens: tokens))
            }
        }
        if let f = r["websocket"] { route.websocket = decodeWebSocket(f) }
        if let f = r["format"] {
            if case .string("openai-realtime") = f.value {
                route.realtime = true
                if route.websocket == nil { f.fail("\"openai-realtime\" is a WebSocket format; add \"websocket\": true") }
            } else {
                route.format = f.oneOf(AIFormat.self)
            }
        }
        let params = match.parameterNames
        if let f = r["stream_save"] { route.streamSave = decodeStreamSave(f, pathParams: params, routeFormat: route.format, upstreams: upstreams) }
        if let f = r["truncate"] { route.truncate = decodeTruncate(f, routeFormat: route.format) }
        if let v = r["body_limit"]?.int(min: 0) { route.bodyLimit = v }
        if let f = r["validate"], let o = f.object(keys: ["schema", "trim"]) {
            if let s = o.required("schema") {
                checkSchema(s)
                route.validate = ValidateConfig(schema: s.value, trim: o["trim"]?.bool ?? false)
            }
        }
        if let f = r["headers"] { route.headers = decodeHeaders(f, base: headers, mergeSet: true) }
        route.scrubErrors = r["scrub_errors"]?.bool ?? (route.format == nil)
        if let f = r["idempotency"], let o = f.object(keys: ["header", "ttl", "max_body_bytes"]) {
            var idem = IdempotencyConfig()
            if let hf = o["header"], let h = hf.nonEmptyString {
                if isHTTPToken(h) { idem.header = h } else { hf.fail("\(hf.value.jsonText()) is not a header name") }
            }
            if let v = o["ttl"]?.duration() { idem.ttl = v }
            if let v = o["max_body_bytes"]?.int(min: 0) { idem.maxBodyBytes = v }
            route.idempotency = idem
        }
        if let f = r["timeouts"] { route.timeouts = decodeTimeouts(f, base: route.timeouts) }
        if let f = r["retry"] { route.retry = decodeRetry(f, base: route.retry ?? RetryConfig()) }
        if let f = r["circuit_breaker"] { route.circuitBreaker = decodeBreaker(f) }
        return route
    }

    /// `true`, `false`, or the object of SPEC §11.6.
    private func decodeWebSocket(_ f: Field) -> WebSocketConfig? {
        if case .bool(let on) = f.value { return on ? WebSocketConfig() : nil }
        guard let o = f.object(keys: ["allow_origins", "max_message_bytes", "idle", "ping_interval", "max_session", "max_per_user"]) else {
            return nil
        }
        var ws = WebSocketConfig()
        if let v = o["allow_origins"]?.strings { ws.allowOrigins = v }
        if let v = o["max_message_bytes"]?.int(min: 1, max: 64 << 20) { ws.maxMessageBytes = v }
        if let v = o["idle"]?.duration() { ws.idle = v }
        if let v = o["ping_interval"]?.duration() { ws.pingInterval = v }
        if let v = o["max_session"]?.duration() { ws.maxSession = v }
        if let v = o["max_per_user"]?.int(min: 1) { ws.maxPerUser = v }
        if ws.pingInterval >= ws.idle, let pf = o["ping_interval"] ?? o["idle"] {
            pf.fail("ping_interval (\(ws.pingInterval)) must be shorter than idle (\(ws.idle)), or a live peer could not answer in time")
        }
        return ws
    }

    /// `upstream` may be left out only when there is exactly one upstream to mean.
    private func resolveUpstream(_ r: ObjectReader, at path: String, upstreams: [String: UpstreamConfig]) -> UpstreamConfig? {
        guard let f = r["upstream"] else {
            if upstreams.count == 1 { return upstreams.values.first }
            if upstreams.count > 1 {
                diag.error(ConfigPath.key(path, "upstream"), "required when more than one upstream is defined")
            }
            return nil
        }
        return namedUpstream(f, upstreams: upstreams)
    }

    /// An upstream named by `f`; an unknown name fails at `f`'s path with the defined names.
    func namedUpstream(_ f: Field, upstreams: [String: UpstreamConfig]) -> UpstreamConfig? {
        guard let name = f.nonEmptyString else { return nil }
        if let u = upstreams[name] { return u }
        let known = upstreams.keys.sorted().joined(separator: ", ")
        f.fail("no upstream named \(f.value.jsonText())" + (known.isEmpty ? "" : "; defined: \(known)"))
        return nil
    }

    private func decodeMatch(_ field: Field) -> RouteMatch? {
        guard let r = field.object(keys: ["methods", "path", "path_prefix"]) else { return nil }
        let methods = r["methods"].flatMap(decodeMethods)
        switch (r["path"], r["path_prefix"]) {
        case (nil, nil):
            field.fail("needs path or path_prefix")
            return nil
        case (.some, .some):
            field.fail("use either path or path_prefix, not both")
            return nil
        case (let pf?, nil):
            guard let s = pf.string else { return nil }
            switch RouteMatch.PathRule.parsePath(s) {
            case .success(let rule): return RouteMatch(methods: methods, path: rule)
            case .failure(let message): pf.fail(message.text); return nil
            }
        case (nil, let pf?):
            guard let s = pf.string else { return nil }
            if !s.hasPrefix("/") { pf.fail("must start with \"/\""); return nil }
            if s.contains("{") || s.contains("}") { pf.fail("a prefix cannot contain {parameters}; use path"); return nil }
            return RouteMatch(methods: methods, path: .prefix(s))
        }
    }
}

extension RouteMatch {
    /// Names of `{param}` segments, usable in stream_save templates.
    var parameterNames: [String] {
        guard case .template(let segments) = path else { return [] }
        return segments.compactMap { if case .param(let n) = $0 { n } else { nil } }
    }
}

extension RouteMatch.PathRule {
    /// `/a/b` is exact; `/a/{id}/b` a template whose `{id}` stands for one whole, non-empty segment.
    static func parsePath(_ s: String) -> Result<RouteMatch.PathRule, ConfigMessage> {
        guard s.hasPrefix("/") else { return .failure(ConfigMessage(text: "must start with \"/\"")) }
        if s.contains("?") || s.contains("#") {
            return .failure(ConfigMessage(text: "must not contain a query or fragment"))
        }
        guard s.contains("{") || s.contains("}") else { return .success(.exact(s)) }
        var segments: [RouteMatch.PathSegment] = []
        for raw in s.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard raw.contains("{") || raw.contains("}") else { segments.append(.literal(String(raw))); continue }
            let name = raw.dropFirst().dropLast()
            let isParam = raw.count >= 2 && raw.hasPrefix("{") && raw.hasSuffix("}") && !name.contains("{") && !name.contains("}")
            guard isParam else {
                if let open = raw.firstIndex(of: "{"), !raw[open...].contains("}") {
                    return .failure(ConfigMessage(text: "unclosed { in \"\(raw)\""))
                }
                if let close = raw.firstIndex(of: "}"), !raw[..<close].contains("{") {
                    return .failure(ConfigMessage(text: "unmatched } in \"\(raw)\""))
                }
                return .failure(ConfigMessage(text: "a {parameter} must be a whole segment, not part of \"\(raw)\""))
            }
            if name.isEmpty { return .failure(ConfigMessage(text: "empty parameter name {}")) }
            guard isIdentifier(name) else {
                return .failure(ConfigMessage(text: "parameter name \"\(name)\" must be letters, digits or _ (not starting with a digit)"))
            }
            if segments.contains(.param(String(name))) {
                return .failure(ConfigMessage(text: "parameter {\(name)} appears twice"))
            }
            segments.append(.param(String(name)))
        }
        return .success(.template(segments))
    }
}

func isIdentifier(_ s: Substring) -> Bool {
    guard let first = s.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
    return s.utf8.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
}
