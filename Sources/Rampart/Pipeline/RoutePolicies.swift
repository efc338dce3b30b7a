/// The stages of each route, built once per config so a reload swaps them with the config.
/// Order matters and is the order a reader expects: CORS (a preflight needs no identity) →
/// identity → quotas → budgets; then the body stages: validation → truncation; then the
/// response filters, which see the response as it streams and how the exchange ended: error
/// scrubbing (which intercepts a 5xx) → usage → confirmed saves (which hold the end of a stream)
/// → idempotency capture.
public final class RoutePolicies: Sendable {
    public let request: [any RequestPolicy]
    public let body: [any BodyPolicy]
    let response: [any ResponseFilterMaker]

    init(request: [any RequestPolicy], body: [any BodyPolicy], response: [any ResponseFilterMaker] = []) {
        self.request = request; self.body = body; self.response = response
    }

    static func build(for route: RouteConfig, config: GatewayConfig, services: RouteServices) -> RoutePolicies {
        var request: [any RequestPolicy] = []
        let headers = route.headers ?? config.headers
        if let cors = headers.cors { request.append(CORSPolicy(cors: cors)) }
        let identity = config.identity
        if identity.jwt != nil || identity.trustedHeader != nil || identity.anonymous == .reject || route.auth == .required {
            request.append(IdentityPolicy(identity: identity, verifier: services.jwt, auth: route.auth))
        }
        if !route.quotas.isEmpty { request.append(QuotaPolicy(quotas: route.quotas, onUnavailable: config.store.onUnavailable)) }
        if !config.usage.budgets.isEmpty, let ledger = services.usage { request.append(BudgetPolicy(budgets: config.usage.budgets, ledger: ledger)) }
        var body: [any BodyPolicy] = []
        if let validate = route.validate { body.append(ValidationStage(validate)) }
        if let truncate = route.truncate { body.append(TruncationStage(truncate)) }
        var response: [any ResponseFilterMaker] = []
        if route.scrubErrors { response.append(ErrorScrubbing()) }
        if !config.usage.prices.isEmpty || !config.usage.budgets.isEmpty { response.append(UsageCounting()) }
        if let save = route.streamSave { response.append(ConfirmedSaving(config: save)) }
        if let idempotency = route.idempotency { response.append(IdempotencyCapturing(config: idempotency)) }
        return RoutePolicies(request: request, body: body, response: response)
    }
}

/// What stages share across routes, built once per config activation (keys loaded from disk).
public struct RouteServices: Sendable {
    public var jwt: JWTVerifier?
    public var usage: UsageLedger?
}
