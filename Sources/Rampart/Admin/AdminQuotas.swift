import Foundation
import RampartLoop
import RampartTransport
import RampartProxy
import RampartHTTP

/// `GET /admin/quotas?key=user:u1` (each quota of each route that applies to the identity: used,
/// remaining, reset, in requests or, for a token quota, tokens; `unit` says which) and `DELETE /admin/quotas?key=user:u1[&route=chat]` (forget its hits).
struct AdminQuotas {
    let context: ServerContext

    func handle(_ head: HTTPRequestHead, respond: @escaping (AdminService.Answer) -> Void) {
        let query = QueryString.parse(head.query ?? "")
        guard let key = query["key"], !key.isEmpty else {
            respond((400, GatewayError(status: 400, code: "BAD_REQUEST", message: "Give ?key=user:<id>, ip:<addr> or route.").bodyText, "application/json"))
            return
        }
        let route = query["route"]
        let config = context.active.config
        if head.method == "DELETE" {
            context.quotas.reset(identity: key, route: route) { result in
                switch result {
                case .success: respond((200, JSONText.object([("key", JSONText.quote(key)), ("route", route.map(JSONText.quote) ?? "null"), ("reset", "true")]), "application/json"))
                case .failure(let e): respond((503, GatewayError(status: 503, code: "OVERLOADED", message: "The quota store is unavailable (\(e.reason)).").bodyText, "application/json"))
                }
            }
            return
        }
        // The rules this identity is subject to: user-keyed quotas apply to user:… and (for
        // anonymous callers) ip:… identities, ip-keyed ones to ip:…, route-keyed ones to "route".
        var rules: [QuotaRule] = []
        var names: [(route: String, index: Int, per: String, unit: String)] = []
        for r in config.routes where route == nil || r.name == route {
            for (i, q) in r.quotas.enumerated() {
                let applies: Bool
                switch q.key {
                case .user: applies = key.hasPrefix("user:") || key.hasPrefix("ip:")
                case .ip: applies = key.hasPrefix("ip:")
                case .route: applies = key == "route"
                }
                guard applies else { continue }
                rules.append(QuotaRule(key: QuotaKey(identity: key, route: r.name, index: i), limit: q.limit,
                                       window: Double(q.per.configMilliseconds) / 1000, unit: q.unit))
                names.append((r.name, i, formatDuration(q.per), q.unit == .tokens ? "tokens:" + q.tokens.rawValue : "requests"))
            }
        }
        context.quotas.peek(rules, now: context.state.wallNow()) { result in
            switch result {
            case .success(let statuses):
                let items = zip(names, statuses).map { n, s in
                    JSONText.object([("route", JSONText.quote(n.route)), ("index", String(n.index)), ("limit", String(s.limit)),
                                     ("per", JSONText.quote(n.per)), ("unit", JSONText.quote(n.unit)), ("used", String(s.limit - s.remaining)),
                                     ("remaining", String(s.remaining)), ("reset_seconds", String(Int(s.resetAfter.rounded(.up))))])
                }
                respond((200, JSONText.object([("key", JSONText.quote(key)), ("quotas", JSONText.array(items))]), "application/json"))
            case .failure(let e):
                respond((503, GatewayError(status: 503, code: "OVERLOADED", message: "The quota store is unavailable (\(e.reason)).").bodyText, "application/json"))
            }
        }
    }
}
