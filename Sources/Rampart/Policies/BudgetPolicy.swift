import Foundation

/// Cost budget stage (SPEC §5): dollars per key per window from `usage.budgets`. Spending is
/// recorded when a response ends, so the limit bites on the next request; over budget →
/// 429 BUDGET_EXCEEDED with Retry-After until enough spend leaves the window.
struct BudgetPolicy: RequestPolicy {
    let budgets: [BudgetConfig]
    let ledger: UsageLedger

    func evaluate(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        let now = Date().timeIntervalSince1970
        for budget in budgets {
            let key = Self.key(budget.key, ctx)
            let window = Double(budget.per.configMilliseconds) / 1000
            if let wait = ledger.budgetRetryAfter(key: key, window: window, limit: budget.usd, now: now) {
                let spent = ledger.spent(key: key, window: window, now: now)
                done(.reject(GatewayError(status: 429, code: "BUDGET_EXCEEDED",
                                          message: "AI budget spent: $\(String(format: "%.2f", spent)) of $\(String(format: "%.2f", budget.usd)) per \(formatDuration(budget.per)). Try again in \(wait) s.",
                                          retryAfterSeconds: wait)))
                return
            }
        }
        done(.proceed)
    }

    /// The ledger key a request is charged to: the same identities as quotas.
    static func key(_ kind: QuotaConfig.Key, _ ctx: RequestContext) -> String {
        switch kind {
        case .user: return ctx.identityKey
        case .ip: return "ip:" + ctx.clientIP
        case .route: return "route:" + ctx.route.name
        }
    }
}
