import RampartHTTP
import RampartLoop
import RampartTransport
/// The validated, immutable form of gateway.json (SPEC §3). A request holds the snapshot it
/// started with, so a reload never changes the rules under an in-flight request.
public final class GatewayConfig: Sendable {
    public let server: ServerConfig
    public let admin: AdminConfig
    public let store: StoreConfig
    public let identity: IdentityConfig
    public let upstreams: [String: UpstreamConfig]
    public let headers: HeadersConfig
    public let routes: [RouteConfig]
    public let usage: UsageConfig
    public let logging: LoggingConfig
    /// Request spans to an OpenTelemetry collector (nil: no tracing).
    public let tracing: TracingConfig?
    /// The environment variables and secret files this config names (what `serve` will need).
    public let secrets: [SecretReference]
    /// sha256 (hex) of the file's bytes; shown by /admin/status so ops can tell which config runs.
    public let hash: String
    /// The source document, kept for /admin/config (secrets are never in it: they live in env vars).
    public let source: JSONValue

    public init(server: ServerConfig, admin: AdminConfig, store: StoreConfig, identity: IdentityConfig,
                upstreams: [String: UpstreamConfig], headers: HeadersConfig, routes: [RouteConfig],
                usage: UsageConfig, logging: LoggingConfig, tracing: TracingConfig? = nil, hash: String, source: JSONValue,
                secrets: [SecretReference] = []) {
        self.tracing = tracing
        self.secrets = secrets
        self.server = server; self.admin = admin; self.store = store; self.identity = identity
        self.upstreams = upstreams; self.headers = headers; self.routes = routes; self.usage = usage
        self.logging = logging; self.hash = hash; self.source = source
    }
}

/// An IPv4 or IPv6 network, e.g. 127.0.0.1/32 or ::1/128.
public struct CIDR: Sendable, Equatable {
    public var address: [UInt8]   // 4 or 16 bytes
    public var prefixLength: Int
    public init(address: [UInt8], prefixLength: Int) { self.address = address; self.prefixLength = prefixLength }
    public func contains(_ ip: [UInt8]) -> Bool {
        guard ip.count == address.count else { return false }
        var bits = prefixLength
        for i in 0..<ip.count where bits > 0 {
            let take = min(8, bits)
            let mask: UInt8 = take == 8 ? 0xff : ~(0xff >> UInt8(take))
            if ip[i] & mask != address[i] & mask { return false }
            bits -= take
        }
        return true
    }
}

public struct ServerConfig: Sendable {
    public var listen: SocketAddress
    public var tls: TLSConfig?
    public var workers: Int              // 0 = one per core
    public var maxConnections: Int
    public var trustedProxies: [CIDR]
    public var drainTimeoutMs: Int
    public var limits: LimitsConfig
    /// After SIGTERM: readiness fails at once, but the listener keeps accepting this long, so load
    /// balancers (Kubernetes endpoints) stop sending before connections are refused.
    public var drainDelayMs: Int = 5_000
    /// `retry_after_cap` (SPEC §11.3): a 429 or 503 of Rampart's whose Retry-After is longer also
    /// says `x-should-retry: false`, so an SDK raises instead of sleeping through it.
    public var retryAfterCapSeconds: Int = 60
    /// `server.http2` when enabled (SPEC §11.7): ALPN `h2` on the TLS listener, `h2c` on a plain one.
    public var http2: HTTP2Settings?
    package init(listen: SocketAddress, tls: TLSConfig? = nil, workers: Int, maxConnections: Int, trustedProxies: [CIDR], drainTimeoutMs: Int, limits: LimitsConfig, drainDelayMs: Int = 5_000, retryAfterCapSeconds: Int = 60) {
        self.listen = listen; self.tls = tls; self.workers = workers; self.maxConnections = maxConnections; self.trustedProxies = trustedProxies; self.drainTimeoutMs = drainTimeoutMs; self.limits = limits; self.drainDelayMs = drainDelayMs; self.retryAfterCapSeconds = retryAfterCapSeconds
    }
}

public struct TLSConfig: Sendable {
    public var certFile: String
    public var keyFile: String
    package init(certFile: String, keyFile: String) { self.certFile = certFile; self.keyFile = keyFile }
}

public struct LimitsConfig: Sendable {
    public var headerBytes: Int = 16384
    public var bodyBytes: Int = 1_048_576
    public var urlBytes: Int = 8192
    public var headerTimeoutMs: Int = 10_000
    public var bodyTimeoutMs: Int = 30_000
    public var keepaliveTimeoutMs: Int = 60_000
    package init(headerBytes: Int = 16384, bodyBytes: Int = 1_048_576, urlBytes: Int = 8192, headerTimeoutMs: Int = 10_000, bodyTimeoutMs: Int = 30_000, keepaliveTimeoutMs: Int = 60_000) {
        self.headerBytes = headerBytes; self.bodyBytes = bodyBytes; self.urlBytes = urlBytes; self.headerTimeoutMs = headerTimeoutMs; self.bodyTimeoutMs = bodyTimeoutMs; self.keepaliveTimeoutMs = keepaliveTimeoutMs
    }
}

public struct AdminConfig: Sendable {
    public var listen: SocketAddress?    // nil = no admin listener
    public var tokenEnv: String?         // env var holding the bearer token
    public var tokenFile: String?        // file with one accepted token per line (rotation)
    /// No token and still answering: an explicit opt-out, loopback only, warned about at every start.
    public var insecureNoAuth = false
    /// A listener that serves only `GET /metrics`, without a token, for Prometheus.
    public var metricsListen: SocketAddress?
    package init(listen: SocketAddress? = nil, tokenEnv: String? = nil, tokenFile: String? = nil, metricsListen: SocketAddress? = nil) {
        self.listen = listen; self.tokenEnv = tokenEnv; self.tokenFile = tokenFile; self.metricsListen = metricsListen
    }
}

public struct StoreConfig: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case memory, redis }
    public enum OnUnavailable: String, Sendable, CaseIterable { case allow, deny }
    public var kind: Kind = .memory
    public var dir: String = "var/rampart"
    public var url: String?              // redis://host:port/db
    /// Redis Cluster seed nodes (`host:port`), instead of `url`.
    public var cluster: [String]?
    public var passwordEnv: String?      // env var holding the Redis password (AUTH)
    public var onUnavailable: OnUnavailable = .allow
    package init(kind: Kind = .memory, dir: String = "var/rampart", url: String? = nil, passwordEnv: String? = nil, onUnavailable: OnUnavailable = .allow) {
        self.kind = kind; self.dir = dir; self.url = url; self.passwordEnv = passwordEnv; self.onUnavailable = onUnavailable
    }
}

public struct IdentityConfig: Sendable {
    public enum Anonymous: String, Sendable, CaseIterable { case ip, reject }
    public var jwt: JWTConfig?
    public var trustedHeader: String?
    public var anonymous: Anonymous = .ip
    package init(jwt: JWTConfig? = nil, trustedHeader: String? = nil, anonymous: Anonymous = .ip) {
        self.jwt = jwt; self.trustedHeader = trustedHeader; self.anonymous = anonymous
    }
}

public struct TimeoutsConfig: Sendable, Equatable {
    public var connect: Duration = .seconds(2)
    public var firstByte: Duration = .seconds(30)
    public var idle: Duration = .seconds(30)
    public var total: Duration = .seconds(120)
    package init(connect: Duration = .seconds(2), firstByte: Duration = .seconds(30), idle: Duration = .seconds(30), total: Duration = .seconds(120)) {
        self.connect = connect; self.firstByte = firstByte; self.idle = idle; self.total = total
    }
}

public struct RetryConfig: Sendable, Equatable {
    public var attempts: Int = 1                 // 1 = no retry
    public var backoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(8)
    public var jitter: Double = 0.2
    public var on: [String] = ["connect", "timeout", "429", "502", "503", "504"]
    public var methods: [String] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]
    public var budgetPercent: Double = 20
    package init(attempts: Int = 1, backoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(8), jitter: Double = 0.2, on: [String] = ["connect", "timeout", "429", "502", "503", "504"], methods: [String] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"], budgetPercent: Double = 20) {
        self.attempts = attempts; self.backoff = backoff; self.maxBackoff = maxBackoff; self.jitter = jitter; self.on = on; self.methods = methods; self.budgetPercent = budgetPercent
    }
}

public struct CircuitBreakerConfig: Sendable, Equatable {
    public var consecutiveFailures: Int = 5
    public var failureRate: Double = 0.5
    public var minRequests: Int = 10
    public var window: Duration = .seconds(60)
    public var cooldown: Duration = .seconds(60)
    public var halfOpenProbes: Int = 1
    package init(consecutiveFailures: Int = 5, failureRate: Double = 0.5, minRequests: Int = 10, window: Duration = .seconds(60), cooldown: Duration = .seconds(60), halfOpenProbes: Int = 1) {
        self.consecutiveFailures = consecutiveFailures; self.failureRate = failureRate; self.minRequests = minRequests; self.window = window; self.cooldown = cooldown; self.halfOpenProbes = halfOpenProbes
    }

    /// The breaker of an upstream without a `circuit_breaker` block: there so ops can force any
    /// upstream open or closed, and loose enough to trip only on an upstream that is plainly down
    /// (20 failed requests in a row, or half of at least 100 in a minute), never on healthy traffic.
    public static let unconfigured = CircuitBreakerConfig(consecutiveFailures: 20, failureRate: 0.5, minRequests: 100,
                                                          window: .seconds(60), cooldown: .seconds(30), halfOpenProbes: 1)
}

public struct UpstreamConfig: Sendable {
    public var name: String
    public var url: String               // scheme://host[:port][/base-path], no trailing slash
    public var scheme: String            // "http" or "https"
    public var host: String
    public var port: UInt16
    public var basePath: String          // "" or "/base"
    public var timeouts: TimeoutsConfig
    public var retry: RetryConfig?
    public var circuitBreaker: CircuitBreakerConfig?
    public var maxInFlight: Int = 1024
    public var tlsVerify: Bool = true
    /// `auto`: Rampart's own HTTP/1.1 client for http://, libcurl for https://. `curl`: libcurl always.
    public var transport: Transport = .auto
    public enum Transport: String, Sendable, CaseIterable { case auto, curl }
    /// Where the transports reach it, made once when the config loads (not per request).
    public var endpoint = UpstreamEndpoint(scheme: "http", host: "invalid", port: 80, usesNativeClient: true)
    /// Rampart's own HTTP/1.1 client serves it (plain http, transport auto); else libcurl.
    public var usesNativeClient: Bool { endpoint.usesNativeClient }
    /// Its app instances (one, `url`, unless `servers` lists several) and how they share requests.
    public var servers: [PoolServer] = []
    public var pool = PoolConfig()
    package init(name: String, url: String, scheme: String, host: String, port: UInt16, basePath: String, timeouts: TimeoutsConfig, retry: RetryConfig? = nil, circuitBreaker: CircuitBreakerConfig? = nil, maxInFlight: Int = 1024, tlsVerify: Bool = true, transport: Transport = .auto) {
        self.name = name; self.url = url; self.scheme = scheme; self.host = host; self.port = port; self.basePath = basePath; self.timeouts = timeouts; self.retry = retry; self.circuitBreaker = circuitBreaker; self.maxInFlight = maxInFlight; self.tlsVerify = tlsVerify; self.transport = transport
    }
}

public struct HeadersConfig: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case override, ifAbsent = "if_absent" }
    public var set: [(name: String, value: String)] = [] { didSet { resolve() } }
    public var mode: Mode = .override { didSet { resolve() } }
    public var remove: [String] = [] { didSet { resolve() } }
    public var cspReportOnly: Bool = false { didSet { resolve() } }
    public var cors: CORSConfig?
    /// `set` as it goes on a response, worked out once rather than per response: the name after
    /// the report-only switch, and whether it displaces an enforcing CSP (never two CSP headers).
    private(set) var resolvedSet: [(field: HTTPField, displacesCSP: Bool)] = []
    /// `set` already has an HSTS field (then the TLS default is not added).
    private(set) var setsHSTS = false
    /// The rules as one pass over a response's fields, when their order cannot matter.
    private(set) var plan: SecurityHeadersPlan?

    private mutating func resolve() {
        resolvedSet = set.map { f in
            var name = f.name
            if cspReportOnly && name.asciiCaseInsensitiveEquals("content-security-policy" as StaticString) {
                name = "Content-Security-Policy-Report-Only"
            }
            return (HTTPField.checked(name: name, value: f.value), name == "Content-Security-Policy-Report-Only")
        }
        setsHSTS = set.contains { $0.name.asciiCaseInsensitiveEquals("strict-transport-security" as StaticString) }
        plan = SecurityHeadersPlan(self)
    }
    package init(set: [(name: String, value: String)] = [], mode: Mode = .override, remove: [String] = [], cspReportOnly: Bool = false, cors: CORSConfig? = nil) {
        self.set = set; self.mode = mode; self.remove = remove; self.cspReportOnly = cspReportOnly; self.cors = cors
        resolve()
    }
}

public struct CORSConfig: Sendable {
    public var allowOrigins: [String]
    public var allowCredentials: Bool = false
    public var allowMethods: [String] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    public var allowHeaders: [String] = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"]
    public var exposeHeaders: [String] = []
    public var maxAge: Duration = .seconds(600)
    package init(allowOrigins: [String], allowCredentials: Bool = false, allowMethods: [String] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], allowHeaders: [String] = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"], exposeHeaders: [String] = [], maxAge: Duration = .seconds(600)) {
        self.allowOrigins = allowOrigins; self.allowCredentials = allowCredentials; self.allowMethods = allowMethods; self.allowHeaders = allowHeaders; self.exposeHeaders = exposeHeaders; self.maxAge = maxAge
    }
}

public struct RouteMatch: Sendable {
    public enum PathRule: Sendable, Equatable {
        case exact(String)
        case template([PathSegment])     // /api/books/{bookId}
        case prefix(String)
    }
    public enum PathSegment: Sendable, Equatable { case literal(String), param(String) }
    public var methods: [String]?        // nil = all
    public var path: PathRule
    package init(methods: [String]? = nil, path: PathRule) {
        self.methods = methods; self.path = path
    }
}

public struct QuotaConfig: Sendable {
    public enum Key: String, Sendable, CaseIterable { case user, ip, route }
    /// What `limit` counts: requests, or LLM tokens charged after each call (SPEC §11.2).
    public enum Unit: String, Sendable, CaseIterable { case requests, tokens }
    /// Which tokens a token quota counts: the whole prompt (cached or not), the output, or both.
    public enum Tokens: String, Sendable, CaseIterable { case input, output, total }
    public var limit: Int
    public var per: Duration
    public var key: Key = .user
    public var unit: Unit = .requests
    public var tokens: Tokens = .total
    package init(limit: Int, per: Duration, key: Key = .user, unit: Unit = .requests, tokens: Tokens = .total) {
        self.limit = limit; self.per = per; self.key = key; self.unit = unit; self.tokens = tokens
    }
}

public struct StreamSaveConfig: Sendable {
    public enum Format: Sendable, Equatable { case anthropic, openai, text, custom(event: String?, pointer: String) }
    public enum Mode: String, Sendable, CaseIterable { case save, verify }
    public struct Save: Sendable {
        public var method: String = "PUT"
        public var url: String
        public var body: JSONValue?
        public var attempts: Int = 3
        public var backoff: Duration = .seconds(1)
        /// The upstream that receives the save and its replays (the app, when the route's is an
        /// LLM provider); nil: the route's. Names an entry of `upstreams`.
        public var upstream: String?
        package init(method: String = "PUT", url: String, body: JSONValue? = nil, attempts: Int = 3, backoff: Duration = .seconds(1), upstream: String? = nil) {
            self.method = method; self.url = url; self.body = body; self.attempts = attempts; self.backoff = backoff; self.upstream = upstream
        }
    }
    public struct Verify: Sendable {
        public var url: String
        public var pointer: String
        /// The upstream the verify GET reads; nil: the save's.
        public var upstream: String?
        package init(url: String, pointer: String, upstream: String? = nil) { self.url = url; self.pointer = pointer; self.upstream = upstream }
    }
    public var format: Format
    public var mode: Mode = .save
    public var save: Save
    public var verify: Verify?
    /// A schema the generated content must meet before it is saved (SPEC §11.13).
    public var validate: OutputValidation?
    /// What is done to the content before it is stored (SPEC §11.13); the client's stream is untouched.
    public var sanitize: Sanitize = .none
    public var echo: [(key: String, template: String)] = []
    public var wait: Duration = .seconds(10)
    public var continueOnDisconnect: Bool = true
    package init(format: Format, mode: Mode = .save, save: Save, verify: Verify? = nil, echo: [(key: String, template: String)] = [], wait: Duration = .seconds(10), continueOnDisconnect: Bool = true) {
        self.format = format; self.mode = mode; self.save = save; self.verify = verify; self.echo = echo; self.wait = wait; self.continueOnDisconnect = continueOnDisconnect
    }
}

public struct IdempotencyConfig: Sendable {
    public var header: String = "Idempotency-Key"
    public var ttl: Duration = .seconds(86_400)
    public var maxBodyBytes: Int = 1_048_576
    package init(header: String = "Idempotency-Key", ttl: Duration = .seconds(86_400), maxBodyBytes: Int = 1_048_576) {
        self.header = header; self.ttl = ttl; self.maxBodyBytes = maxBodyBytes
    }
}

public struct RouteConfig: Sendable {
    public enum Auth: String, Sendable, CaseIterable { case required, optional }
    public var name: String
    /// Set on an AI route; `truncate.format` and `stream_save.format` default to it.
    public var format: AIFormat?
    public var match: RouteMatch
    public var upstream: String          // resolved: always names an entry of `upstreams`
    public var auth: Auth = .optional
    public var quotas: [QuotaConfig] = []
    public var streamSave: StreamSaveConfig?
    public var truncate: TruncateConfig?
    public var bodyLimit: Int?           // overrides server.limits.body_bytes
    public var validate: ValidateConfig?
    public var headers: HeadersConfig?   // replaces the global headers section for this route
    /// Replace every upstream 5xx with Rampart's 502 (default, except on AI routes, where only
    /// stack traces and non-JSON bodies are replaced: the SDKs read the provider's errors).
    public var scrubErrors: Bool = true
    public var idempotency: IdempotencyConfig?
    public var timeouts: TimeoutsConfig  // effective: route override merged over the upstream's
    public var retry: RetryConfig?       // effective
    /// A breaker of the route's own (named `<upstream>/<route>`) instead of the upstream's.
    public var circuitBreaker: CircuitBreakerConfig?
    /// Set when the route accepts `Upgrade: websocket`; other routes refuse it with 400.
    public var websocket: WebSocketConfig?
    /// `"format": "openai-realtime"`: usage from each `response.done` event is counted per user.
    public var realtime = false

    /// The breaker that guards this route's traffic.
    public var breakerName: String { circuitBreaker == nil ? upstream : "\(upstream)/\(name)" }
    /// Where confirmed saves and their replays go: `stream_save.save.upstream`, else the route's.
    public var saveUpstream: String { streamSave?.save.upstream ?? upstream }
    /// Where a verify GET goes: `stream_save.verify.upstream`, else where the save goes (the app
    /// that holds the copy, not an LLM provider in front of the route).
    public var verifyUpstream: String { streamSave?.verify?.upstream ?? saveUpstream }
    package init(name: String, match: RouteMatch, upstream: String, auth: Auth = .optional, quotas: [QuotaConfig] = [], streamSave: StreamSaveConfig? = nil, truncate: TruncateConfig? = nil, bodyLimit: Int? = nil, validate: ValidateConfig? = nil, headers: HeadersConfig? = nil, scrubErrors: Bool = true, idempotency: IdempotencyConfig? = nil, timeouts: TimeoutsConfig, retry: RetryConfig? = nil, circuitBreaker: CircuitBreakerConfig? = nil) {
        self.name = name; self.match = match; self.upstream = upstream; self.auth = auth; self.quotas = quotas; self.streamSave = streamSave; self.truncate = truncate; self.bodyLimit = bodyLimit; self.validate = validate; self.headers = headers; self.scrubErrors = scrubErrors; self.idempotency = idempotency; self.timeouts = timeouts; self.retry = retry; self.circuitBreaker = circuitBreaker
    }
}

public struct LoggingConfig: Sendable {
    public enum Level: String, Sendable, Comparable, CaseIterable {
        case debug, info, warn, error
        private var rank: Int { switch self { case .debug: 0; case .info: 1; case .warn: 2; case .error: 3 } }
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
    }
    public var level: Level = .info
    public var accessLog: Bool = true
    /// Query parameters whose values the access log replaces with `[redacted]` (case-insensitive).
    public var redactQueryParams: [String] = LoggingConfig.defaultRedactedParams
    public static let defaultRedactedParams = ["token", "access_token", "refresh_token", "id_token", "api_key", "apikey", "key",
                                               "code", "password", "secret", "client_secret", "signature", "sig", "auth", "jwt", "session"]
    package init(level: Level = .info, accessLog: Bool = true, redactQueryParams: [String] = LoggingConfig.defaultRedactedParams) {
        self.level = level; self.accessLog = accessLog; self.redactQueryParams = redactQueryParams
    }
}
