import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation
import Synchronization

/// A config together with what is derived from it once (the route table), swapped as one value.
public final class ActiveConfig: Sendable {
    public let config: GatewayConfig
    public let routes: RouteTable
    /// Per route index: its resolved upstream, headers, limits and stages.
    public let plans: [RoutePlan]
    /// The server certificate, loaded with the config so a reload picks up a renewed one.
    public let tls: TLSContext?
    /// Admin bearer tokens, re-read with each config so a token rotates with a reload.
    public let adminTokens: AdminTokens

    /// Loads what the config points at (certificate, JWT keys); any failure rejects the config.
    public init(_ config: GatewayConfig, usage: UsageLedger? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ActivationError) {
        self.config = config
        do {
            self.tls = try config.server.tls.map { t throws(TLSContext.LoadError) in try TLSContext(certFile: t.certFile, keyFile: t.keyFile, http2: config.server.http2 != nil) }
        } catch { throw ActivationError(path: "server.tls", message: error.description) }
        self.adminTokens = try AdminTokens.load(config.admin, environment: environment)
        var services = RouteServices()
        services.usage = usage
        if let usage, let longest = config.usage.budgets.map({ Double($0.per.configMilliseconds) / 1000 }).max() { usage.ensureHorizon(longest) }
        if let jwt = config.identity.jwt {
            do { services.jwt = try JWTVerifier(config: jwt, environment: environment) }
            catch { throw ActivationError(path: "identity.jwt", message: error.description) }
        }
        self.routes = RouteTable(config.routes)
        var plans: [RoutePlan] = []
        for (i, route) in config.routes.enumerated() {
            // The loader resolves every route's upstream; a miss here is a loader bug, not a 502 later.
            guard let upstream = config.upstreams[route.upstream] else {
                throw ActivationError(path: "routes[\(i)].upstream", message: "names no upstream")
            }
            if route.streamSave != nil, config.upstreams[route.saveUpstream] == nil || config.upstreams[route.verifyUpstream] == nil {
                throw ActivationError(path: "routes[\(i)].stream_save", message: "names no upstream")
            }
            plans.append(RoutePlan(route: route, index: i, upstream: upstream, config: config,
                                   filters: RoutePolicies.build(for: route, config: config, services: services)))
        }
        self.plans = plans
    }
}

/// A config that parsed but whose files or keys could not be loaded.
public struct ActivationError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Requests in flight to one upstream, across all loops (for `max_in_flight`).
public final class InFlightCounter: Sendable {
    public let value = Atomic<Int>(0)
    /// Takes a slot if one is free.
    package func acquire(limit: Int) -> Bool {
        if value.add(1, ordering: .relaxed).newValue <= limit { return true }
        value.subtract(1, ordering: .relaxed)
        return false
    }
    package func release() { value.subtract(1, ordering: .relaxed) }
}

/// Process-wide state shared by every loop: the live config, metrics, lifecycle flags.
public final class GatewayState: Sendable {
    private let active: Lock<ActiveConfig>
    public let metrics: Metrics
    public let configPath: String
    public let startedAt: ContinuousClock.Instant = .now
    public let startedAtUnix: Double
    public let draining = Atomic<Bool>(false)
    public let inFlight = Atomic<Int>(0)
    public let workerCount: Int
    /// Streamed content whose save could not be confirmed: in Redis with the Redis store (a local
    /// file while Redis is down), else fsync'd under `store.dir`; the loops reach it through its
    /// writer thread, never directly.
    public let journal: SaveJournalWriter

    /// AI usage per key, route and model (tokens and dollars), for budgets, metrics and the admin API.
    public let usage: UsageLedger

    /// One circuit breaker per upstream (defaults when none is configured), shared by all loops,
    /// kept across reloads when unchanged.
    public let breakers = BreakerRegistry()
    /// Open WebSocket sessions per route and caller (`max_per_user`).
    public let webSockets = WebSocketRegistry()
    private let retryBudgets = Lock<[String: RetryBudget]>([:])

    /// The retry budget of an upstream (its `budget_percent`), shared by all loops.
    public func retryBudget(upstream: String) -> RetryBudget {
        retryBudgets.withLock { budgets in
            if let b = budgets[upstream] { return b }
            let percent = current.config.upstreams[upstream]?.retry?.budgetPercent ?? 20
            let b = RetryBudget(percent: percent)
            budgets[upstream] = b
            return b
        }
    }

    /// One server pool per upstream with several servers (or active checks), kept across reloads
    /// while its servers and settings are unchanged (drains and ejections survive a reload).
    private let pools = Lock<[String: ServerPool]>([:])

    public func pool(for upstream: UpstreamConfig) -> ServerPool? {
        guard upstream.servers.count > 1 || upstream.pool.healthCheck != nil else { return nil }
        return pools.withLock { pools in
            if let p = pools[upstream.name], p.servers == upstream.servers, p.config == upstream.pool { return p }
            let p = ServerPool(upstream: upstream.name, servers: upstream.servers, config: upstream.pool)
            pools[upstream.name] = p
            return p
        }
    }

    /// The pools of the live config's upstreams (admin, metrics, active checks).
    public func livePools() -> [ServerPool] {
        current.config.upstreams.values.sorted { $0.name < $1.name }.compactMap { pool(for: $0) }
    }

    /// One counter per upstream name, kept across reloads so in-flight requests stay counted.
    private let inFlightCounters = Lock<[String: InFlightCounter]>([:])

    public func inFlightCounter(upstream: String) -> InFlightCounter {
        inFlightCounters.withLock { counters in
            if let c = counters[upstream] { return c }
            let c = InFlightCounter()
            counters[upstream] = c
            return c
        }
    }

    /// Wall time for everything that is not a duration: quota windows, breakers, budgets, journal
    /// entries, token expiry. One injected source, so all of them can be driven by a test clock.
    public let clock: any Clock
    /// `clock.now()` read in place: called on `clock` from outside, the existential is copied first.
    public func wallNow() -> Double { clock.now() }

    /// Where request spans go when `tracing` is configured (the OTLP exporter).
    public let spans: (any SpanSink)?

    public init(config: ActiveConfig, configPath: String, workerCount: Int, startedAtUnix: Double, journal: any SaveJournal,
                usage: UsageLedger = UsageLedger(), clock: any Clock = SystemClock(), spans: (any SpanSink)? = nil) {
        self.clock = clock
        self.spans = spans
        active = Lock(config)
        self.usage = usage
        self.journal = SaveJournalWriter(journal)
        metrics = Metrics(shardCount: workerCount)
        self.configPath = configPath
        self.workerCount = workerCount
        self.startedAtUnix = startedAtUnix
        breakers.apply(Self.breakerConfigs(config.config))
        // Every transition: one log line and a counter (SPEC §7.3).
        breakers.onTransition = { [metrics] upstream, from, to, reason in
            metrics.shards[0].breakerTransition(upstream: upstream, to: to.rawValue)
            AccessLog(loop: nil, enabled: true, level: .info).event(.warn, "circuit breaker \(to.rawValue)", [
                ("upstream", JSONText.quote(upstream)), ("from", JSONText.quote(from.rawValue)),
                ("to", JSONText.quote(to.rawValue)), ("reason", JSONText.quote(reason.rawValue))])
        }
    }

    public var current: ActiveConfig { active.withLock { $0 } }
    public func swap(_ fresh: ActiveConfig) {
        active.withLock { $0 = fresh }
        breakers.apply(Self.breakerConfigs(fresh.config))
        retryBudgets.withLock { $0.removeAll() }   // rebuilt lazily with the new budget_percent
    }

    /// Every upstream gets a breaker (its own block, else `CircuitBreakerConfig.unconfigured`), so
    /// ops can force any of them; a route with a block of its own adds `<upstream>/<route>`.
    static func breakerConfigs(_ config: GatewayConfig) -> [String: CircuitBreakerConfig] {
        var out: [String: CircuitBreakerConfig] = [:]
        for (name, u) in config.upstreams { out[name] = u.circuitBreaker ?? .unconfigured }
        for r in config.routes { if let b = r.circuitBreaker { out[r.breakerName] = b } }
        return out
    }
}

/// Per-loop context: the loop's view of the live config, its transport, log, metrics shard and
/// connections. Only its loop thread touches it (hence @unchecked: it crosses threads only inside
/// tasks that run on its own loop).
public final class ServerContext: @unchecked Sendable {
    public let loop: EventLoop
    public let state: GatewayState
    public let metrics: MetricsShard
    public let accessLog: AccessLog
    public let transport: UpstreamTransport
    public let quotas: LoopQuotas
    public let idempotency: any IdempotencyStore
    /// Cost budgets shared through Redis (nil with the memory store: the process ledger counts).
    public let sharedBudgets: (any SharedBudgets)?
    /// AI usage shared through Redis (nil with the memory store): `/admin/usage` reads the fleet's.
    public let sharedUsage: (any SharedUsage)?
    /// Refreshed by a task on this loop when the config is swapped; requests snapshot it.
    @exclusivity(unchecked) public private(set) var active: ActiveConfig
    /// Per route of `active`, what its requests share with every loop, looked up once per config.
    @exclusivity(unchecked) private var upstreamHandles: [UpstreamHandles] = []
    @exclusivity(unchecked) private var connections: [ObjectIdentifier: any ServedConnection] = [:]

    package init(loop: EventLoop, state: GatewayState, transport: UpstreamTransport, quotas: LoopQuotas, idempotency: any IdempotencyStore,
         sharedBudgets: (any SharedBudgets)? = nil, sharedUsage: (any SharedUsage)? = nil) {
        self.sharedBudgets = sharedBudgets
        self.sharedUsage = sharedUsage
        self.loop = loop
        self.state = state
        self.quotas = quotas
        self.idempotency = idempotency
        self.metrics = state.metrics.shards[loop.index % state.metrics.shards.count]
        self.transport = transport
        let active = state.current
        self.active = active
        upstreamHandles = active.plans.map { UpstreamHandles($0, state: state) }
        accessLog = AccessLog(loop: loop, enabled: active.config.logging.accessLog, level: active.config.logging.level)
        accessLog.redactedParams = Set(active.config.logging.redactQueryParams.map { $0.lowercased() })
    }

    public var currentConfig: GatewayConfig { active.config }

    /// A request's shared upstream state: from the table when its plan is the active config's, by
    /// name for a request that began under an older config.
    func handles(for plan: RoutePlan) -> UpstreamHandles {
        if plan.index < upstreamHandles.count, active.plans[plan.index] === plan { return upstreamHandles[plan.index] }
        return UpstreamHandles(plan, state: state)
    }

    package func adopt(_ fresh: ActiveConfig) {
        active = fresh
        upstreamHandles = fresh.plans.map { UpstreamHandles($0, state: state) }   // after the swap applied its breakers
        accessLog.enabled = fresh.config.logging.accessLog
        accessLog.redactedParams = Set(fresh.config.logging.redactQueryParams.map { $0.lowercased() })
        accessLog.level = fresh.config.logging.level
    }

    public func connectionOpened(_ c: any ServedConnection) {
        connections[ObjectIdentifier(c)] = c
        if c.clientFacing { state.metrics.activeConnections.add(1, ordering: .relaxed) }
    }

    public func connectionClosed(_ c: any ServedConnection) {
        if connections.removeValue(forKey: ObjectIdentifier(c)) != nil, c.clientFacing {
            state.metrics.activeConnections.subtract(1, ordering: .relaxed)
        }
    }

    /// Exchanges that outlive their client (`continue_on_disconnect` saves): still in flight, so
    /// the drain deadline must reach them too.
    @exclusivity(unchecked) private var detached: [ObjectIdentifier: ServerExchange] = [:]
    func detach(_ e: ServerExchange) { detached[ObjectIdentifier(e)] = e }
    func reattachEnded(_ e: ServerExchange) { detached.removeValue(forKey: ObjectIdentifier(e)) }

    /// Graceful shutdown: idle client connections close now, busy ones after their current response.
    package func drainConnections() { for c in Array(connections.values) where c.clientFacing { c.drain() } }

    /// The drain deadline: every running exchange ends now, in a way its client can tell from success.
    package func cutAtDrainDeadline() {
        for c in Array(connections.values) where c.clientFacing { c.drainDeadlineReached() }
        for e in Array(detached.values) { e.drainDeadlineReached() }
    }
    var connectionCount: Int { connections.count }
}

/// The gateway as its connections' host: admission (`max_connections`, TLS), the connection
/// registry, byte counts, the drain, and the replies a connection gives by itself in SPEC §4's
/// error format with an access line.
extension ServerContext: ConnectionHost {
    public func admit(role: ListenerRole) -> ConnectionAdmission? {
        let config = currentConfig
        if role == .main && state.metrics.activeConnections.load(ordering: .relaxed) >= config.server.maxConnections { return nil }
        let limits = config.server.limits
        let settings = HTTP1ServerMachine.Settings(
            limits: HTTPLimits(maxHeaderBytes: limits.headerBytes, maxURLBytes: limits.urlBytes),
            headerTimeoutNs: UInt64(max(0, limits.headerTimeoutMs)) &* 1_000_000,
            bodyTimeoutNs: UInt64(max(0, limits.bodyTimeoutMs)) &* 1_000_000,
            keepaliveTimeoutNs: UInt64(max(0, limits.keepaliveTimeoutMs)) &* 1_000_000)
        return ConnectionAdmission(settings: settings, tls: role == .main ? active.tls : nil, http2: role == .main ? config.server.http2 : nil)
    }

    public func refusal(_ reason: AcceptRefusal, role: ListenerRole) -> [UInt8] {
        state.metrics.connectionRefused(reason)
        let config = currentConfig
        guard role != .main || active.tls == nil else { return [] }
        let message = reason == .overCapacity
            ? "The gateway is at its connection limit; try again shortly."
            : "The gateway has no file descriptor left for a new connection; try again shortly."
        let error = GatewayError(status: 503, code: "OVERLOADED", message: message, retryAfterSeconds: 1)
        var reply = LocalReply.error(error, requestID: RequestIDs.make().description, headersConfig: role == .main ? config.headers : nil, tls: false)
        reply.head.headers.set("Connection", "close")
        return reply.head.serialized() + reply.body
    }

    public func bytesIn(_ count: Int) { metrics.bytesIn(count) }
    public func bytesOut(_ count: Int) { metrics.bytesOut(count) }
    public var isShuttingDown: Bool { state.draining.load(ordering: .relaxed) }

    public func http2Abuse(_ kind: String) { state.metrics.http2Abuse(kind) }
    public func connectionTimedOut(_ kind: String) { metrics.timeout(kind: kind) }

    public func localReply(for error: ConnectionError, request: HTTPRequestHead?, on connection: any ClientStream) -> (HTTPResponseHead, [UInt8]) {
        switch error.cause {
        case .malformed: metrics.parseError()
        case .timeout(let kind): metrics.timeout(kind: kind)
        }
        // A request whose head arrived keeps the client's sane id, as every other answer does.
        let requestID = (request?.headers["X-Request-Id"].flatMap(RequestID.init(sent:)) ?? RequestIDs.make()).description
        let reply = LocalReply.error(GatewayError(status: error.status, code: error.code, message: error.message),
                                     requestID: requestID, headersConfig: currentConfig.headers, tls: connection.isTLS)
        accessLog.logConnectionError(status: error.status, code: error.code, message: error.message, peer: connection.peerText,
                                     requestID: requestID, bytesOut: reply.body.count, head: request.map { ($0.method, $0.path, $0.query) })
        metrics.recordRequest(route: "-", status: error.status, seconds: 0, http2: connection.isHTTP2)
        return reply
    }
}
