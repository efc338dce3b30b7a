import Foundation
import RampartLoop
import RampartTransport
import RampartHTTP

/// Quota stage (SPEC §5): each of the route's quotas, keyed by user, IP or route, spent all or
/// none. Every answer of the route carries the RateLimit headers; a spent quota answers 429
/// RATE_LIMITED with the exact Retry-After. A store outage follows `store.on_unavailable`.
///
/// Token quotas (SPEC §11.2) are decided in the same store call as the request quotas (one round
/// trip, all or none): a call is let in while its window's tokens are under the limit. When the
/// exchange ends, the usage `UsageFilter` counted (real, or the estimate) is charged to them; a call
/// that got no response counted nothing and is charged nothing. Routes without token quotas skip
/// the end phase entirely.
/// A class: the store's answer comes back in a closure, which then holds one reference to the
/// policy instead of a copy of its arrays.
final class QuotaPolicy: RouteFilter {
    let phases: FilterPhases

    package let quotas: [QuotaConfig]
    package let onUnavailable: StoreConfig.OnUnavailable
    /// The RateLimit policy name of each quota and the `RateLimit-Policy` value, made once
    /// rather than on every answer.
    let policy: RateLimitHeaders.Policy

    package init(quotas: [QuotaConfig], route: String, onUnavailable: StoreConfig.OnUnavailable) {
        self.quotas = quotas
        self.onUnavailable = onUnavailable
        policy = RateLimitHeaders.Policy(names: quotas.indices.map { RateLimitHeaders.policyName(routeName: route, index: $0) },
                                         limits: quotas.map(\.limit),
                                         windows: quotas.map { Double($0.per.configMilliseconds) / 1000 })
        phases = quotas.contains { $0.unit == .tokens } ? [.requestHead, .end] : .requestHead
    }

    package func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        let rules = QuotaRule.rules(for: quotas, windows: policy.windows, route: ctx.route.name, user: ctx.user, ip: ctx.clientIP)
        ctx.server.quotas.acquire(rules, now: ctx.server.state.wallNow()) { [self] result in
            let server = ctx.server, route = ctx.route.name
            switch result {
            case .success(let decision):
                let statuses = decision.statuses
                RateLimitHeaders.add(policy: policy, statuses: statuses, to: &ctx.responseHeaders)
                ctx.quotaRemaining = statuses.lazy.map(\.remaining).min()
                server.metrics.quotaDecision(route: route, allowed: decision.isAllowed)
                switch decision {
                case .allowed:
                    done(.proceed)
                case .limited(let retryAfter, _):
                    done(.reject(GatewayError(status: 429, code: "RATE_LIMITED",
                                              message: Self.message(quotas: quotas, statuses: statuses, route: route, retryAfter: retryAfter),
                                              retryAfterSeconds: retryAfter)))
                }
            case .failure(let unavailable):
                server.metrics.storeError(kind: "quota")
                server.accessLog.event(.warn, "quota store unavailable", [
                    ("request_id", JSONText.quote(ctx.requestID)), ("reason", JSONText.quote(unavailable.reason)),
                    ("on_unavailable", JSONText.quote(onUnavailable.rawValue))])
                if onUnavailable == .allow { done(.proceed); return }
                done(.reject(GatewayError(status: 503, code: "OVERLOADED", message: "The quota store is unavailable; try again shortly.",
                                          retryAfterSeconds: 1)))
            }
        }
    }

    /// Charges the call's counted tokens to each token quota, timestamped now (the end of the call).
    /// A failed charge is logged and counted; the call has already happened, so there is nothing to refuse.
    func exchangeEnded(_ ctx: RequestContext) {
        guard let usage = ctx.countedUsage else { return }
        Self.chargeTokens(usage, quotas: quotas, ctx: ctx)
    }

    /// Charges `usage` to each token quota of `quotas` (a realtime session does so per response).
    static func chargeTokens(_ usage: TokenUsage, quotas: [QuotaConfig], ctx: RequestContext) {
        let server = ctx.server
        var rules: [QuotaRule] = [], tokens: [Int] = []
        let all = QuotaRule.rules(for: quotas, route: ctx.route.name, user: ctx.user, ip: ctx.clientIP)
        for (rule, quota) in zip(all, quotas) where quota.unit == .tokens {
            rules.append(rule)
            tokens.append(quota.tokens.count(usage))
        }
        let requestID = ctx.requestID
        server.quotas.charge(rules, tokens: tokens, now: server.state.wallNow()) { result in
            guard case .failure(let unavailable) = result else { return }
            server.metrics.storeError(kind: "quota")
            server.accessLog.event(.warn, "token quota charge lost: quota store unavailable", [
                ("request_id", JSONText.quote(requestID)), ("reason", JSONText.quote(unavailable.reason))])
        }
    }

    /// "Too many requests: 10 per 1h on generate-chapter. Try again in 1312 s." — about the quota
    /// that is spent and frees last ("Too many tokens: 1000 tokens per 1m …" for a token quota).
    package static func message(quotas: [QuotaConfig], statuses: [QuotaStatus], route: String, retryAfter: Int) -> String {
        var worst = 0
        for (i, s) in statuses.enumerated() where s.remaining == 0 && (statuses[worst].remaining != 0 || s.resetAfter > statuses[worst].resetAfter) {
            worst = i
        }
        let q = quotas[min(worst, quotas.count - 1)]
        if q.unit == .tokens {
            let which = q.tokens == .total ? "" : q.tokens.rawValue + " "
            return "Too many tokens: \(q.limit) \(which)tokens per \(formatDuration(q.per)) on \(route). Try again in \(retryAfter) s."
        }
        return "Too many requests: \(q.limit) per \(formatDuration(q.per)) on \(route). Try again in \(retryAfter) s."
    }
}

extension QuotaConfig.Tokens {
    /// The tokens of a call this quota counts. Input is the whole prompt (`promptTokens`: uncached,
    /// cache reads and cache writes), because every prompt token is work the provider did and bills.
    func count(_ usage: TokenUsage) -> Int {
        switch self {
        case .input: usage.promptTokens
        case .output: usage.outputTokens
        case .total: usage.promptTokens + usage.outputTokens
        }
    }
}
