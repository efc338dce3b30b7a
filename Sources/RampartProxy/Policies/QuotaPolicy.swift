import Foundation
import RampartLoop
import RampartTransport
import RampartHTTP

/// Quota stage (SPEC §5): each of the route's quotas, keyed by user, IP or route, spent all or
/// none. Every answer of the route carries the RateLimit headers; a spent quota answers 429
/// RATE_LIMITED with the exact Retry-After. A store outage follows `store.on_unavailable`.
struct QuotaPolicy: RouteFilter {
    var phases: FilterPhases { .requestHead }

    package let quotas: [QuotaConfig]
    package let onUnavailable: StoreConfig.OnUnavailable

    package func requestHead(_ ctx: RequestContext, _ done: @escaping (PolicyVerdict) -> Void) {
        let route = ctx.route.name
        let rules = QuotaRule.rules(for: quotas, route: route, user: ctx.user, ip: ctx.clientIP)
        let server = ctx.server
        server.quotas.acquire(rules, now: server.state.clock.now()) { result in
            switch result {
            case .success(let decision):
                let statuses = decision.statuses
                for (name, value) in RateLimitHeaders.fields(routeName: route, statuses: statuses) {
                    ctx.responseHeaders.append(HTTPField(name: name, value: value))
                }
                ctx.quotaRemaining = statuses.map(\.remaining).min()
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

    /// "Too many requests: 10 per 1h on generate-chapter. Try again in 1312 s." — about the quota
    /// that is spent and frees last.
    package static func message(quotas: [QuotaConfig], statuses: [QuotaStatus], route: String, retryAfter: Int) -> String {
        var worst = 0
        for (i, s) in statuses.enumerated() where s.remaining == 0 && (statuses[worst].remaining != 0 || s.resetAfter > statuses[worst].resetAfter) {
            worst = i
        }
        let q = quotas[min(worst, quotas.count - 1)]
        return "Too many requests: \(q.limit) per \(formatDuration(q.per)) on \(route). Try again in \(retryAfter) s."
    }
}
