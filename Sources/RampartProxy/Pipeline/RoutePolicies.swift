import RampartHTTP
import RampartLoop
import RampartTransport
/// The one ordered list of a route's filters, built once per config so a reload swaps them with
/// the config. Adding a policy is a file with its `RouteFilter` and a line here. The order is the
/// order a reader expects: a WebSocket's origin → CORS (a preflight needs no identity) → identity → quotas → budgets →
/// open sockets per caller →
/// validation → truncation → stream usage asked for (OpenAI routes) → idempotency (its key is checked after the caller is known, its
/// fingerprint taken from the body the upstream will see) → error scrubbing (which intercepts a
/// 5xx) → usage → confirmed saves or, on an AI route without one, the stream completion check
/// (each holds the end of a stream).
enum RoutePolicies {
    package static func build(for route: RouteConfig, config: GatewayConfig, services: RouteServices) -> FilterChain {
        var chain: [any RouteFilter] = []
        let headers = route.headers ?? config.headers
        let identity = config.identity
        if let ws = route.websocket { chain.append(WebSocketOrigin(allowOrigins: ws.allowOrigins ?? headers.cors?.allowOrigins ?? [])) }
        if let cors = headers.cors { chain.append(CORSPolicy(cors: cors)) }
        if identity.jwt != nil || identity.trustedHeader != nil || identity.anonymous == .reject || route.auth == .required {
            chain.append(IdentityPolicy(identity: identity, verifier: services.jwt, auth: route.auth))
        }
        if !route.quotas.isEmpty { chain.append(QuotaPolicy(quotas: route.quotas, route: route.name, onUnavailable: config.store.onUnavailable)) }
        if !config.usage.budgets.isEmpty, let ledger = services.usage { chain.append(BudgetPolicy(budgets: config.usage.budgets, ledger: ledger)) }
        if let ws = route.websocket { chain.append(WebSocketSessions(limit: ws.maxPerUser)) }
        if let validate = route.validate { chain.append(ValidationStage(validate)) }
        if let truncate = route.truncate { chain.append(TruncationStage(truncate)) }
        if route.format == .openai { chain.append(UsageInjection()) }
        if let idempotency = route.idempotency { chain.append(IdempotencyPolicy(config: idempotency, onUnavailable: config.store.onUnavailable)) }
        if route.scrubErrors || route.format != nil { chain.append(ErrorScrubbing(keepProviderErrors: !route.scrubErrors)) }
        // A token quota must see every call's usage, estimated when unread, as an AI route does.
        let tokenQuotas = route.quotas.contains { $0.unit == .tokens }
        if !config.usage.prices.isEmpty || !config.usage.budgets.isEmpty || route.format != nil || tokenQuotas {
            chain.append(UsageCounting(aiRoute: route.format != nil || tokenQuotas))
        }
        if let save = route.streamSave { chain.append(ConfirmedSaving(config: save)) }
        else if let format = route.format { chain.append(StreamCompletion(format: format)) }
        return FilterChain(chain)
    }
}

/// What filters share across routes, built once per config activation (keys loaded from disk).
public struct RouteServices: Sendable {
    public var jwt: JWTVerifier?
    public var usage: UsageLedger?
}
