import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// upstreams, plus the timeouts/retry blocks that routes may override field by field.
extension ConfigDecoder {
    static let timeoutKeys = ["connect", "first_byte", "idle", "total"]
    static let retryKeys = ["attempts", "backoff", "max_backoff", "jitter", "on", "methods", "budget_percent"]

    func decodeUpstreams(_ field: Field?) -> [String: UpstreamConfig] {
        guard let field, let members = field.members else { return [:] }
        if members.isEmpty { field.fail("define at least one upstream") }
        var upstreams: [String: UpstreamConfig] = [:]
        for (name, f) in members {
            if !isSimpleName(name) { f.fail("upstream names may use only letters, digits, '-', '_' and '.'") }
            guard let r = f.object(keys: ["url", "timeouts", "retry", "circuit_breaker", "max_in_flight", "tls_verify", "transport",
                                          "servers", "balance", "passive_health", "health_check"]) else { continue }
            var url = UpstreamURL(scheme: "http", host: "invalid", port: 80, basePath: "")
            var listed: [(UpstreamURL, Int)] = []
            if let sf = r["servers"] {
                if r["url"] != nil { sf.fail("give either url or servers, not both") }
                listed = decodeServers(sf)
                if let first = listed.first?.0 { url = first }
            } else if let uf = r.required("url"), let s = uf.nonEmptyString {
                switch UpstreamURL.parse(s) {
                case .success(let u): url = u
                case .failure(let message): uf.fail(message.text)
                }
            }
            if listed.isEmpty { listed = [(url, 1)] }
            var upstream = UpstreamConfig(name: name, url: url.text, scheme: url.scheme, host: url.host, port: url.port,
                                          basePath: url.basePath, timeouts: TimeoutsConfig(), retry: nil, circuitBreaker: nil)
            if let t = r["timeouts"] { upstream.timeouts = decodeTimeouts(t, base: TimeoutsConfig()) }
            if let rf = r["retry"] { upstream.retry = decodeRetry(rf, base: RetryConfig()) }
            if let cf = r["circuit_breaker"] { upstream.circuitBreaker = decodeBreaker(cf) }
            if let v = r["max_in_flight"]?.int(min: 1) { upstream.maxInFlight = v }
            if let v = r["tls_verify"]?.bool { upstream.tlsVerify = v }
            if let v = r["transport"]?.oneOf(UpstreamConfig.Transport.self) { upstream.transport = v }
            upstream.endpoint = UpstreamEndpoint(scheme: url.scheme, host: url.host, port: url.port, tlsVerify: upstream.tlsVerify,
                                                 usesNativeClient: url.scheme == "http" && upstream.transport == .auto)
            upstream.servers = listed.map { u, weight in
                PoolServer(url: u.text, host: u.host, port: u.port, weight: weight,
                           endpoint: UpstreamEndpoint(scheme: u.scheme, host: u.host, port: u.port, tlsVerify: upstream.tlsVerify,
                                                      usesNativeClient: u.scheme == "http" && upstream.transport == .auto),
                           authority: UpstreamConfig.authority(scheme: u.scheme, host: u.host, port: u.port))
            }
            upstream.pool = decodePool(r)
            upstreams[name] = upstream
        }
        return upstreams
    }

    /// `servers`: at least one, each `{"url", "weight"}`; all with the scheme and base path of the
    /// first (one upstream is one app: its instances differ only in where they run).
    private func decodeServers(_ f: Field) -> [(UpstreamURL, Int)] {
        guard let items = f.elements else { return [] }
        if items.isEmpty { f.fail("list at least one server") }
        var out: [(UpstreamURL, Int)] = []
        for item in items {
            guard let o = item.object(keys: ["url", "weight"]) else { continue }
            let weight = o["weight"]?.int(min: 1, max: 1000) ?? 1
            guard let uf = o.required("url"), let s = uf.nonEmptyString else { continue }
            switch UpstreamURL.parse(s) {
            case .failure(let message): uf.fail(message.text)
            case .success(let u):
                if let first = out.first?.0, first.scheme != u.scheme || first.basePath != u.basePath {
                    uf.fail("every server of an upstream needs the same scheme and base path as the first (\(first.text))")
                }
                out.append((u, weight))
            }
        }
        return out
    }

    private func decodePool(_ r: ObjectReader) -> PoolConfig {
        var pool = PoolConfig()
        if let v = r["balance"]?.oneOf(PoolConfig.Balance.self) { pool.balance = v }
        if let f = r["passive_health"], let o = f.object(keys: ["consecutive_failures", "cooldown"]) {
            if let v = o["consecutive_failures"]?.int(min: 1, max: 10_000) { pool.consecutiveFailures = v }
            if let v = o["cooldown"]?.duration() { pool.cooldown = v }
        }
        if let f = r["health_check"], let o = f.object(keys: ["path", "interval", "timeout", "unhealthy_after", "healthy_after"]) {
            var h = HealthCheckConfig()
            if let pf = o["path"], let v = pf.nonEmptyString { if v.hasPrefix("/") { h.path = v } else { pf.fail("must start with /") } }
            if let v = o["interval"]?.duration() { h.interval = v }
            if let v = o["timeout"]?.duration() { h.timeout = v }
            if let v = o["unhealthy_after"]?.int(min: 1, max: 100) { h.unhealthyAfter = v }
            if let v = o["healthy_after"]?.int(min: 1, max: 100) { h.healthyAfter = v }
            pool.healthCheck = h
        }
        return pool
    }

    /// Fields present in `field` replace those of `base`, so a route can change just `total`.
    func decodeTimeouts(_ field: Field, base: TimeoutsConfig) -> TimeoutsConfig {
        var t = base
        guard let r = field.object(keys: Self.timeoutKeys) else { return t }
        if let v = r["connect"]?.duration() { t.connect = v }
        if let v = r["first_byte"]?.duration() { t.firstByte = v }
        if let v = r["idle"]?.duration() { t.idle = v }
        if let v = r["total"]?.duration() { t.total = v }
        return t
    }

    /// Merges over `base` like timeouts; backoff limits are checked on the merged result.
    func decodeRetry(_ field: Field, base: RetryConfig) -> RetryConfig {
        var retry = base
        guard let r = field.object(keys: Self.retryKeys) else { return retry }
        if let v = r["attempts"]?.int(min: 1, max: 10) { retry.attempts = v }
        if let v = r["backoff"]?.duration() { retry.backoff = v }
        if let v = r["max_backoff"]?.duration() { retry.maxBackoff = v }
        if let v = r["jitter"]?.number(min: 0, max: 1) { retry.jitter = v }
        if let items = r["on"]?.elements {
            retry.on = items.compactMap { item in
                guard let s = item.string else { return nil }
                if s == "connect" || s == "timeout" { return s }
                if s.count == 3, let code = Int(s), (100...599).contains(code) { return s }
                item.fail("\(item.value.jsonText()) is not a retry condition; use connect, timeout or a status such as \"503\"")
                return nil
            }
        }
        if let f = r["methods"] { retry.methods = decodeMethods(f) ?? retry.methods }
        if let v = r["budget_percent"]?.number(min: 0, max: 100) { retry.budgetPercent = v }
        if retry.maxBackoff < retry.backoff {
            let at = r.has("max_backoff") ? "max_backoff" : "backoff"
            diag.error(ConfigPath.key(field.path, at),
                       "max_backoff (\(formatDuration(retry.maxBackoff))) is shorter than backoff (\(formatDuration(retry.backoff)))")
        }
        return retry
    }

    func decodeBreaker(_ field: Field) -> CircuitBreakerConfig? {
        guard let r = field.object(keys: ["consecutive_failures", "failure_rate", "min_requests", "window",
                                          "cooldown", "half_open_probes"]) else { return nil }
        var cb = CircuitBreakerConfig()
        if let v = r["consecutive_failures"]?.int(min: 1) { cb.consecutiveFailures = v }
        if let v = r["failure_rate"]?.number(min: 0, max: 1) { cb.failureRate = v }
        if let v = r["min_requests"]?.int(min: 1) { cb.minRequests = v }
        if let v = r["window"]?.duration() { cb.window = v }
        if let v = r["cooldown"]?.duration() { cb.cooldown = v }
        if let v = r["half_open_probes"]?.int(min: 1) { cb.halfOpenProbes = v }
        return cb
    }

    /// HTTP methods, upper-cased (a config saying "post" means POST); nil when the list is unusable.
    func decodeMethods(_ field: Field) -> [String]? {
        guard let items = field.elements else { return nil }
        if items.isEmpty { field.fail("must list at least one method; omit the key to allow all"); return nil }
        var methods: [String] = []
        for item in items {
            guard let s = item.string else { continue }
            guard isHTTPToken(s) else { item.fail("\(item.value.jsonText()) is not an HTTP method"); continue }
            let upper = s.uppercased()
            if !methods.contains(upper) { methods.append(upper) }
        }
        return methods
    }
}
