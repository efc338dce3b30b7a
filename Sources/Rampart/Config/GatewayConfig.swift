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
    /// The environment variables and secret files this config names (what `serve` will need).
    public let secrets: [SecretReference]
    /// sha256 (hex) of the file's bytes; shown by /admin/status so ops can tell which config runs.
    public let hash: String
    /// The source document, kept for /admin/config (secrets are never in it: they live in env vars).
    public let source: JSONValue

    public init(server: ServerConfig, admin: AdminConfig, store: StoreConfig, identity: IdentityConfig,
                upstreams: [String: UpstreamConfig], headers: HeadersConfig, routes: [RouteConfig],
                usage: UsageConfig, logging: LoggingConfig, hash: String, source: JSONValue, secrets: [SecretReference] = []) {
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
}

public struct TLSConfig: Sendable { public var certFile: String; public var keyFile: String }

public struct LimitsConfig: Sendable {
    public var headerBytes: Int = 16384
    public var bodyBytes: Int = 1_048_576
    public var urlBytes: Int = 8192
    public var headerTimeoutMs: Int = 10_000
    public var bodyTimeoutMs: Int = 30_000
    public var keepaliveTimeoutMs: Int = 60_000
}

public struct AdminConfig: Sendable {
    public var listen: SocketAddress?    // nil = no admin listener
    public var tokenEnv: String?         // env var holding the bearer token
    public var tokenFile: String?        // file with one accepted token per line (rotation)
    /// No token and still answering: an explicit opt-out, loopback only, warned about at every start.
    public var insecureNoAuth = false
    /// A listener that serves only `GET /metrics`, without a token, for Prometheus.
    public var metricsListen: SocketAddress?
}

public struct StoreConfig: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case memory, redis }
    public enum OnUnavailable: String, Sendable, CaseIterable { case allow, deny }
    public var kind: Kind = .memory
    public var dir: String = "var/rampart"
    public var url: String?              // redis://host:port/db
    public var passwordEnv: String?      // env var holding the Redis password (AUTH)
    public var onUnavailable: OnUnavailable = .allow
}

public struct IdentityConfig: Sendable {
    public enum Anonymous: String, Sendable, CaseIterable { case ip, reject }
    public var jwt: JWTConfig?
    public var trustedHeader: String?
    public var anonymous: Anonymous = .ip
}

public struct JWTConfig: Sendable {
    public var header: String = "Authorization"
    public var cookie: String?
    public var algorithms: [String] = ["RS256", "ES256", "HS256"]
    public var publicKeysFile: String?
    public var jwksFile: String?
    public var hmacSecretEnv: String?
    public var issuer: String?
    public var audience: String?
    public var userClaim: String = "sub"
    public var leeway: Duration = .seconds(30)
}

public struct TimeoutsConfig: Sendable, Equatable {
    public var connect: Duration = .seconds(2)
    public var firstByte: Duration = .seconds(30)
    public var idle: Duration = .seconds(30)
    public var total: Duration = .seconds(120)
}

public struct RetryConfig: Sendable, Equatable {
    public var attempts: Int = 1                 // 1 = no retry
    public var backoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(8)
    public var jitter: Double = 0.2
    public var on: [String] = ["connect", "timeout", "429", "502", "503", "504"]
    public var methods: [String] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]
    public var budgetPercent: Double = 20
}

public struct CircuitBreakerConfig: Sendable, Equatable {
    public var consecutiveFailures: Int = 5
    public var failureRate: Double = 0.5
    public var minRequests: Int = 10
    public var window: Duration = .seconds(60)
    public var cooldown: Duration = .seconds(60)
    public var halfOpenProbes: Int = 1
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
}

public struct HeadersConfig: Sendable {
    public enum Mode: String, Sendable, CaseIterable { case override, ifAbsent = "if_absent" }
    public var set: [(name: String, value: String)] = []
    public var mode: Mode = .override
    public var remove: [String] = []
    public var cspReportOnly: Bool = false
    public var cors: CORSConfig?
}

public struct CORSConfig: Sendable {
    public var allowOrigins: [String]
    public var allowCredentials: Bool = false
    public var allowMethods: [String] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    public var allowHeaders: [String] = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"]
    public var exposeHeaders: [String] = []
    public var maxAge: Duration = .seconds(600)
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
}

public struct QuotaConfig: Sendable {
    public enum Key: String, Sendable, CaseIterable { case user, ip, route }
    public var limit: Int
    public var per: Duration
    public var key: Key = .user
}

public struct TruncateConfig: Sendable {
    public enum Format: Sendable, Equatable { case anthropic, openai, pointer(String) }
    public var format: Format
    public var budgetTokens: Int
    public var charsPerToken: Double = 4
    public var imageTokens: Int = 1600
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
    }
    public struct Verify: Sendable { public var url: String; public var pointer: String }
    public var format: Format
    public var mode: Mode = .save
    public var save: Save
    public var verify: Verify?
    public var echo: [(key: String, template: String)] = []
    public var wait: Duration = .seconds(10)
    public var continueOnDisconnect: Bool = true
}

public struct ValidateConfig: Sendable {
    public var schema: JSONValue
    public var trim: Bool = false
}

public struct IdempotencyConfig: Sendable {
    public var header: String = "Idempotency-Key"
    public var ttl: Duration = .seconds(86_400)
    public var maxBodyBytes: Int = 1_048_576
}

public struct RouteConfig: Sendable {
    public enum Auth: String, Sendable, CaseIterable { case required, optional }
    public var name: String
    public var match: RouteMatch
    public var upstream: String          // resolved: always names an entry of `upstreams`
    public var auth: Auth = .optional
    public var quotas: [QuotaConfig] = []
    public var streamSave: StreamSaveConfig?
    public var truncate: TruncateConfig?
    public var bodyLimit: Int?           // overrides server.limits.body_bytes
    public var validate: ValidateConfig?
    public var headers: HeadersConfig?   // replaces the global headers section for this route
    public var scrubErrors: Bool = true
    public var idempotency: IdempotencyConfig?
    public var timeouts: TimeoutsConfig  // effective: route override merged over the upstream's
    public var retry: RetryConfig?       // effective
    /// A breaker of the route's own (named `<upstream>/<route>`) instead of the upstream's.
    public var circuitBreaker: CircuitBreakerConfig?

    /// The breaker that guards this route's traffic.
    public var breakerName: String { circuitBreaker == nil ? upstream : "\(upstream)/\(name)" }
}

public struct PriceConfig: Sendable {
    public var inputPerMtok: Double
    public var outputPerMtok: Double
    public var cacheReadPerMtok: Double?
    public var cacheWritePerMtok: Double?
}

public struct BudgetConfig: Sendable {
    public var per: Duration
    public var usd: Double
    public var key: QuotaConfig.Key = .user
}

public struct UsageConfig: Sendable {
    public var prices: [String: PriceConfig] = [:]
    public var budgets: [BudgetConfig] = []
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
}
