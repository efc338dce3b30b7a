import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// server, admin, store, identity, usage and logging: the sections without cross-references.
extension ConfigDecoder {
    static let defaultListen = SocketAddress(host: "0.0.0.0", port: 8080)
    static let defaultAdminListen = SocketAddress(host: "127.0.0.1", port: 9901)
    /// What the JWT verifier implements; anything else would be accepted here and fail per request.
    static let jwtAlgorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "HS256", "HS384", "HS512"]

    func listenAddress(_ field: Field) -> SocketAddress? {
        guard let s = field.string else { return nil }
        switch SocketAddress.parseListen(s) {
        case .success(let address): return address
        case .failure(let message): field.fail(message.text); return nil
        }
    }

    func decodeServer(_ field: Field?) -> ServerConfig {
        var server = ServerConfig(listen: Self.defaultListen, tls: nil, workers: 0, maxConnections: 10_000,
                                  trustedProxies: [], drainTimeoutMs: 15_000, limits: LimitsConfig())
        guard let field, let r = field.object(keys: ["listen", "tls", "workers", "max_connections", "trusted_proxies",
                                                      "drain_timeout_ms", "drain_delay", "retry_after_cap", "limits", "http2"]) else { return server }
        if let f = r["listen"], let v = listenAddress(f) { server.listen = v }
        if let f = r["tls"], let t = f.object(keys: ["cert_file", "key_file"]) {
            // Deploy-time files: `serve` needs them, `check` only lists them.
            let cert = checkSecretFile(t.required("cert_file"))
            let key = checkSecretFile(t.required("key_file"))
            if let cert, let key { server.tls = TLSConfig(certFile: cert, keyFile: key) }
        }
        if let v = r["workers"]?.int(min: 0, max: 4096) { server.workers = v }
        if let v = r["max_connections"]?.int(min: 1) { server.maxConnections = v }
        if let items = r["trusted_proxies"]?.elements {
            server.trustedProxies = items.compactMap { item in
                guard let s = item.string else { return nil }
                if let cidr = CIDR.parse(s) { return cidr }
                item.fail("\(item.value.jsonText()) is not a CIDR; use e.g. 10.0.0.0/8, 127.0.0.1/32 or ::1/128")
                return nil
            }
        }
        if let v = r["drain_timeout_ms"]?.int(min: 0) { server.drainTimeoutMs = v }
        if let v = r["drain_delay"]?.duration(allowZero: true) { server.drainDelayMs = Int(v.configMilliseconds) }
        if let v = r["retry_after_cap"]?.duration() { server.retryAfterCapSeconds = max(1, Int(v.configMilliseconds / 1000)) }
        if let f = r["http2"] { server.http2 = decodeHTTP2(f) }
        if let f = r["limits"], let l = f.object(keys: ["header_bytes", "body_bytes", "url_bytes", "header_timeout_ms",
                                                         "body_timeout_ms", "keepalive_timeout_ms"]) {
            if let v = l["header_bytes"]?.int(min: 1) { server.limits.headerBytes = v }
            if let v = l["body_bytes"]?.int(min: 0) { server.limits.bodyBytes = v }
            if let v = l["url_bytes"]?.int(min: 1) { server.limits.urlBytes = v }
            if let v = l["header_timeout_ms"]?.int(min: 1) { server.limits.headerTimeoutMs = v }
            if let v = l["body_timeout_ms"]?.int(min: 1) { server.limits.bodyTimeoutMs = v }
            if let v = l["keepalive_timeout_ms"]?.int(min: 1) { server.limits.keepaliveTimeoutMs = v }
        }
        return server
    }

    /// `server.http2` (SPEC §11.7); nil when absent or `"enabled": false`.
    private func decodeHTTP2(_ f: Field) -> HTTP2Settings? {
        guard let o = f.object(keys: ["enabled", "h2c", "max_concurrent_streams", "max_header_list_bytes", "max_resets_per_10s"]) else { return nil }
        var h2 = HTTP2Settings()
        if let v = o["h2c"]?.bool { h2.h2c = v }
        if let v = o["max_concurrent_streams"]?.int(min: 1, max: 10_000) { h2.maxConcurrentStreams = v }
        if let v = o["max_header_list_bytes"]?.int(min: 1024, max: 1 << 20) { h2.maxHeaderListBytes = v }
        if let v = o["max_resets_per_10s"]?.int(min: 1, max: 1_000_000) { h2.maxResetsPer10s = v }
        return o["enabled"]?.bool ?? true ? h2 : nil
    }

    /// Loopback by default; `"listen": null` disables the admin listener. Without a token every
    /// admin call is refused, unless `insecure_no_auth` says otherwise (loopback only). A listener
    /// reachable from the network without a token is refused outright.
    func decodeAdmin(_ field: Field?) -> AdminConfig {
        var admin = AdminConfig(listen: Self.defaultAdminListen, tokenEnv: nil)
        guard let field, let r = field.object(keys: ["listen", "token_env", "token_file", "insecure_no_auth", "metrics_listen"]) else { return admin }
        if let f = r["listen"] {
            if case .null = f.value { admin.listen = nil } else { admin.listen = listenAddress(f) ?? admin.listen }
        }
        admin.tokenEnv = checkSecretEnv(r["token_env"])
        admin.tokenFile = checkSecretFile(r["token_file"]) { text in
            AdminTokens.lines(text).isEmpty ? "the file holds no token (one per line)" : nil
        }
        if let v = r["insecure_no_auth"]?.bool { admin.insecureNoAuth = v }
        if let f = r["metrics_listen"], let v = listenAddress(f) { admin.metricsListen = v }
        let hasToken = r.has("token_env") || r.has("token_file")
        if let listen = admin.listen, !listen.isLoopback, !hasToken {
            diag.error(ConfigPath.key(field.path, "listen"),
                       "\(listen) is not a loopback address; set admin.token_env or admin.token_file so the admin API requires a token")
        }
        if admin.insecureNoAuth && hasToken {
            diag.error(ConfigPath.key(field.path, "insecure_no_auth"), "cannot be set together with a token; remove one of them")
        }
        if let listen = admin.listen, let metrics = admin.metricsListen, listen == metrics, listen.port != 0 {
            diag.error(ConfigPath.key(field.path, "metrics_listen"), "must differ from admin.listen (\(listen))")
        }
        return admin
    }

    func decodeStore(_ field: Field?) -> StoreConfig {
        var store = StoreConfig()
        guard let field, let r = field.object(keys: ["kind", "dir", "url", "cluster", "password_env", "on_unavailable"]) else { return store }
        if let v = r["kind"]?.oneOf(StoreConfig.Kind.self) { store.kind = v }
        if let v = r["dir"]?.nonEmptyString { store.dir = v }
        if let f = r["url"], let url = f.nonEmptyString {
            if url.hasPrefix("redis://") || url.hasPrefix("rediss://") {
                store.url = url
            } else {
                f.fail("\(f.value.jsonText()) is not a Redis URL; use redis://host:6379/0")
            }
        }
        if let f = r["cluster"] {
            if r.has("url") { f.fail("give either url (one Redis) or cluster (Redis Cluster seed nodes), not both") }
            store.cluster = decodeClusterSeeds(f)
        }
        if store.kind == .redis, !r.has("url"), !r.has("cluster") {
            diag.error(ConfigPath.key(field.path, "url"), "required when kind is \"redis\" (or give \"cluster\": [\"host:port\", ...])")
        }
        if let v = r["on_unavailable"]?.oneOf(StoreConfig.OnUnavailable.self) { store.onUnavailable = v }
        // The Redis password comes from the environment, never from the file.
        store.passwordEnv = checkSecretEnv(r["password_env"])
        return store
    }

    /// `["host:port", ...]`: at least one seed node, each checked as a `redis://` authority would be.
    func decodeClusterSeeds(_ f: Field) -> [String]? {
        guard let items = f.elements else { return nil }
        if items.isEmpty { f.fail("needs at least one seed node \"host:port\""); return nil }
        var seeds: [String] = []
        for item in items {
            guard let text = item.nonEmptyString else { continue }
            guard !text.contains("/"), !text.contains("@"), let url = try? RedisURL.parse("redis://" + text),
                  text.hasSuffix(":\(url.port)") else {
                item.fail("\(item.value.jsonText()) is not a seed node; use \"host:port\" (the password comes from password_env)")
                continue
            }
            seeds.append(text)
        }
        return seeds
    }

    func decodeIdentity(_ field: Field?) -> IdentityConfig {
        var identity = IdentityConfig()
        guard let field, let r = field.object(keys: ["jwt", "trusted_header", "anonymous"]) else { return identity }
        if let f = r["jwt"] { identity.jwt = decodeJWT(f) }
        if let f = r["trusted_header"], let name = f.nonEmptyString {
            if isHTTPToken(name) { identity.trustedHeader = name } else { f.fail("\(f.value.jsonText()) is not a header name") }
        }
        if let v = r["anonymous"]?.oneOf(IdentityConfig.Anonymous.self) { identity.anonymous = v }
        return identity
    }

    private func decodeJWT(_ field: Field) -> JWTConfig? {
        guard let r = field.object(keys: ["header", "cookie", "algorithms", "public_keys_file", "jwks_file",
                                          "hmac_secret_env", "issuer", "audience", "user_claim", "leeway"]) else { return nil }
        var jwt = JWTConfig()
        if let f = r["header"], let v = f.nonEmptyString {
            if isHTTPToken(v) { jwt.header = v } else { f.fail("\(f.value.jsonText()) is not a header name") }
        }
        if let f = r["cookie"], let v = f.nonEmptyString {
            if isHTTPToken(v) { jwt.cookie = v } else { f.fail("\(f.value.jsonText()) is not a cookie name") }
        }
        if let f = r["algorithms"], let items = f.elements {
            if items.isEmpty { f.fail("must list at least one algorithm") }
            jwt.algorithms = items.compactMap { $0.oneOf(Self.jwtAlgorithms) }
        }
        jwt.publicKeysFile = checkFileExists(r["public_keys_file"])
        jwt.jwksFile = checkFileExists(r["jwks_file"])
        jwt.hmacSecretEnv = checkSecretEnv(r["hmac_secret_env"])
        if !r.has("public_keys_file") && !r.has("jwks_file") && !r.has("hmac_secret_env") {
            field.fail("needs a key source: public_keys_file, jwks_file or hmac_secret_env")
        }
        jwt.issuer = r["issuer"]?.nonEmptyString
        jwt.audience = r["audience"]?.nonEmptyString
        if let v = r["user_claim"]?.nonEmptyString { jwt.userClaim = v }
        if let v = r["leeway"]?.duration(allowZero: true) { jwt.leeway = v }
        return jwt
    }

    func decodeUsage(_ field: Field?) -> UsageConfig {
        var usage = UsageConfig()
        guard let field, let r = field.object(keys: ["prices", "budgets", "chars_per_token", "fallback_output_tokens"]) else { return usage }
        if let f = r["chars_per_token"], let v = f.number(min: 0) {
            if v > 0 { usage.charsPerToken = v } else { f.fail("must be greater than 0") }
        }
        if let v = r["fallback_output_tokens"]?.int(min: 0) { usage.fallbackOutputTokens = v }
        for (model, f) in r["prices"]?.members ?? [] {
            guard let p = f.object(keys: ["input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok"]) else { continue }
            let input = p.required("input_per_mtok")?.number(min: 0)
            let output = p.required("output_per_mtok")?.number(min: 0)
            let cacheRead = p["cache_read_per_mtok"]?.number(min: 0)
            let cacheWrite = p["cache_write_per_mtok"]?.number(min: 0)
            guard let input, let output else { continue }
            usage.prices[model] = PriceConfig(inputPerMtok: input, outputPerMtok: output,
                                              cacheReadPerMtok: cacheRead, cacheWritePerMtok: cacheWrite)
        }
        for f in r["budgets"]?.elements ?? [] {
            guard let b = f.object(keys: ["per", "usd", "key"]) else { continue }
            let per = b.required("per")?.duration()
            var usd = b.required("usd")?.number(min: 0)
            if let v = usd, v == 0 { b["usd"]?.fail("must be greater than 0"); usd = nil }
            let key = b["key"].map { $0.oneOf(QuotaConfig.Key.self) } ?? .user
            if let per, let usd, let key { usage.budgets.append(BudgetConfig(per: per, usd: usd, key: key)) }
        }
        return usage
    }

    func decodeLogging(_ field: Field?) -> LoggingConfig {
        var logging = LoggingConfig()
        guard let field, let r = field.object(keys: ["level", "access_log", "redact_query_params"]) else { return logging }
        if let v = r["level"]?.oneOf(LoggingConfig.Level.self) { logging.level = v }
        if let v = r["access_log"]?.bool { logging.accessLog = v }
        if let items = r["redact_query_params"]?.elements { logging.redactQueryParams = items.compactMap { $0.nonEmptyString } }
        return logging
    }
}
