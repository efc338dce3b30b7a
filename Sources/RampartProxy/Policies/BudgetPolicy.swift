import RampartHTTP
import RampartLoop
import RampartTransport
import Foundation

/// Cost budget stage (SPEC §5): dollars per key per window from `usage.budgets`. Spending is
/// recorded when a response ends, so the limit bites on the next request; over budget →
/// 429 BUDGET_EXCEEDED with Retry-After until enough spend leaves the window.
struct BudgetPolicy: RouteFilter {
    var phases: FilterPhases { .requestHead }

    package let budgets: [BudgetConfig]
    package let ledger: UsageLedger

    package func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        let now = ctx.server.state.wallNow()
        if let redis = ctx.server.sharedBudgets { checkShared(redis, index: 0, ctx: ctx, now: now, done); return }
        for budget in budgets {
            let key = Self.key(budget.key, ctx)
            let window = Double(budget.per.configMilliseconds) / 1000
            if let found = ledger.budgetRetryAfter(key: key, window: window, limit: budget.usd, now: now) {
                let wait = Self.clamp(found, to: window)
                let spent = ledger.spent(key: key, window: window, now: now)
                done(.reject(GatewayError(status: 429, code: "BUDGET_EXCEEDED",
                                          message: "AI budget spent: $\(String(format: "%.2f", spent)) of $\(String(format: "%.2f", budget.usd)) per \(formatDuration(budget.per)). Try again in \(wait) s.",
                                          retryAfterSeconds: wait)))
                return
            }
        }
        done(.proceed)
    }

    /// A budget's wait never exceeds its own window (SPEC §11.3): by then every charge in it has aged out.
    static func clamp(_ wait: Int, to window: Double) -> Int { min(wait, max(1, Int(window.rounded(.up)))) }

    /// With the Redis store every replica sees one spend per key: budgets are checked one by one
    /// there. An unreachable Redis follows `store.on_unavailable`.
    private func checkShared(_ redis: any SharedBudgets, index: Int, ctx: RequestContext, now: Double,
                             _ done: @escaping (PolicyVerdict) -> Void) {
        guard index < budgets.count else { done(.proceed); return }
        let budget = budgets[index]
        let window = Double(budget.per.configMilliseconds) / 1000
        redis.retryAfter(identity: Self.key(budget.key, ctx), window: window, limit: budget.usd, now: now) { result in
            switch result {
            case .success(nil):
                checkShared(redis, index: index + 1, ctx: ctx, now: now, done)
            case .success(let found?):
                let wait = Self.clamp(found, to: window)
                done(.reject(GatewayError(status: 429, code: "BUDGET_EXCEEDED",
                                          message: "AI budget of $\(String(format: "%.2f", budget.usd)) per \(formatDuration(budget.per)) is spent. Try again in \(wait) s.",
                                          retryAfterSeconds: wait)))
            case .failure:
                ctx.server.metrics.storeError(kind: "budget")
                if ctx.config.store.onUnavailable == .allow { checkShared(redis, index: index + 1, ctx: ctx, now: now, done) }
                else { done(.reject(GatewayError(status: 503, code: "OVERLOADED", message: "The budget store is unavailable; try again shortly.", retryAfterSeconds: 1))) }
            }
        }
    }

    /// The ledger key a request is charged to: the same identities as quotas.
    package static func key(_ kind: QuotaConfig.Key, _ ctx: RequestContext) -> String {
        switch kind {
        case .user: return ctx.identityKey
        case .ip: return "ip:" + ctx.clientIP
        case .route: return "route:" + ctx.route.name
        }
    }
}
