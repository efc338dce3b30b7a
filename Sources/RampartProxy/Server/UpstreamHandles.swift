/// What the requests of one route share with every loop about its upstream: the breaker, the
/// retry budget and the in-flight counter. Each lives in `GatewayState` under its name; a loop
/// looks them up once per config (`ServerContext.handles`), not by name for every request. A class:
/// a request holds it with one reference, not one per handle.
final class UpstreamHandles {
    let breaker: BreakerCell?
    let retryBudget: RetryBudget
    let inFlight: InFlightCounter
    /// The upstream's servers when it has several (or active checks); nil for the one `url`,
    /// which then costs a request nothing.
    let pool: ServerPool?

    init(_ plan: RoutePlan, state: GatewayState) {
        breaker = state.breakers.cell(plan.breakerName)
        retryBudget = state.retryBudget(upstream: plan.upstream.name)
        inFlight = state.inFlightCounter(upstream: plan.upstream.name)
        pool = state.pool(for: plan.upstream)
    }
}
