import Foundation
import RampartLoop
import RampartTransport
import RampartProxy
import RampartHTTP

/// `GET /admin/usage?key=user:u1`: tokens and dollars per model over the last hour, day and each
/// budget window; `GET /admin/usage` without a key: the same for every caller together, plus the
/// totals since start; and the Prometheus counters of AI usage per route and model.
enum AdminUsage {
    /// With the Redis store the hour and day come from Redis (every replica's calls); the budget
    /// windows and the totals since start stay this replica's.
    static func handle(_ head: HTTPRequestHead, context: ServerContext, respond: @escaping (AdminService.Answer) -> Void) {
        let key = QueryString.parse(head.query ?? "")["key"]
        guard let shared = context.sharedUsage, key?.isEmpty != true else { respond(handle(head, state: context.state)); return }
        shared.totals(key: key ?? "*", now: context.state.wallNow()) { result in
            switch result {
            case .failure(let e):
                context.metrics.storeError(kind: "usage")
                respond((503, GatewayError(status: 503, code: "OVERLOADED", message: "The usage store is unavailable: \(e)", retryAfterSeconds: 1).bodyText,
                         "application/json"))
            case .success(let windows):
                respond(handle(head, state: context.state, fleet: windows))
            }
        }
    }

    /// `fleet`: the hour and the day read from Redis, in place of this replica's own.
    static func withFleet(_ local: [UsageWindowTotals], _ fleet: [UsageWindowTotals]?) -> [UsageWindowTotals] {
        guard let fleet else { return local }
        return fleet + local.dropFirst(fleet.count)
    }

    /// `"scope": "fleet"` when the hour and the day are every replica's.
    static func scope(_ fleet: [UsageWindowTotals]?) -> [(String, String)] { fleet == nil ? [] : [("scope", JSONText.quote("fleet"))] }

    static func handle(_ head: HTTPRequestHead, state: GatewayState, fleet: [UsageWindowTotals]? = nil) -> AdminService.Answer {
        let query = QueryString.parse(head.query ?? "")
        guard let key = query["key"] else { return everyone(state: state, fleet: fleet) }
        guard !key.isEmpty else {
            return (400, GatewayError(status: 400, code: "BAD_REQUEST", message: "Give ?key=user:<id>, ip:<addr> or route:<name>, or no key for everyone.").bodyText, "application/json")
        }
        let config = state.current.config
        var windows: [Double] = [3600, 86_400]
        for b in config.usage.budgets { let w = Double(b.per.configMilliseconds) / 1000; if !windows.contains(w) { windows.append(w) } }
        let now = state.wallNow()
        let totals = withFleet(state.usage.totals(key: key, windows: windows, now: now), fleet)
        let items = totals.map(renderWindow)
        let budgets = config.usage.budgets.map { b -> String in
            let w = Double(b.per.configMilliseconds) / 1000
            return JSONText.object([("per", JSONText.quote(formatDuration(b.per))), ("usd", JSONText.number(b.usd)),
                                    ("spent_usd", String(state.usage.spent(key: key, window: w, now: now)))])
        }
        return (200, JSONText.object([("key", JSONText.quote(key)), ("windows", JSONText.array(items)), ("budgets", JSONText.array(budgets))] + scope(fleet)),
                "application/json")
    }

    /// Usage by model of every caller in this process: the last hour and day, and since start.
    private static func everyone(state: GatewayState, fleet: [UsageWindowTotals]?) -> AdminService.Answer {
        let totals = withFleet(state.usage.totalsForEveryone(windows: [3600, 86_400], now: state.wallNow()), fleet)
        var sinceStart: [String: UsageTotals] = [:]
        for c in state.usage.snapshotCounters() { sinceStart[c.model, default: UsageTotals()].add(c.totals) }
        let all = UsageWindowTotals(window: (ContinuousClock.now - state.startedAt).resilienceSeconds, perModel: sinceStart)
        return (200, JSONText.object([("key", "null"), ("windows", JSONText.array(totals.map(renderWindow))),
                                      ("since_start", renderWindow(all))] + scope(fleet)), "application/json")
    }

    static func renderWindow(_ w: UsageWindowTotals) -> String {
        JSONText.object([("window_seconds", JSONText.number(w.window.rounded(.down))), ("total", render(w.total)),
                         ("models", JSONText.object(w.perModel.keys.sorted().map { ($0, render(w.perModel[$0]!)) }))])
    }

    static func render(_ t: UsageTotals) -> String {
        JSONText.object([("requests", String(t.requests)), ("input_tokens", String(t.inputTokens)), ("output_tokens", String(t.outputTokens)),
                         ("cache_read_tokens", String(t.cacheReadTokens)), ("cache_write_tokens", String(t.cacheWriteTokens)),
                         ("usd", String(t.usd))])
    }

    static func metrics(state: GatewayState) -> String {
        var out = "# HELP rampart_ai_tokens_total AI tokens reported by upstream responses, by route, model and type.\n# TYPE rampart_ai_tokens_total counter\n"
        let counters = state.usage.snapshotCounters()
        for c in counters {
            for (type, n) in [("input", c.totals.inputTokens), ("output", c.totals.outputTokens), ("cache_read", c.totals.cacheReadTokens), ("cache_write", c.totals.cacheWriteTokens)] {
                out += "rampart_ai_tokens_total{route=\"\(Metrics.labelValue(c.route))\",model=\"\(Metrics.labelValue(c.model))\",type=\"\(type)\"} \(n)\n"
            }
        }
        out += "# HELP rampart_ai_cost_usd_total AI cost in US dollars from usage.prices, by route and model.\n# TYPE rampart_ai_cost_usd_total counter\n"
        for c in counters { out += "rampart_ai_cost_usd_total{route=\"\(Metrics.labelValue(c.route))\",model=\"\(Metrics.labelValue(c.model))\"} \(c.totals.usd)\n" }
        return out
    }
}
