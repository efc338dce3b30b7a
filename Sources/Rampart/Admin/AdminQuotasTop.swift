import Foundation
import RampartLoop
import RampartTransport
import RampartProxy
import RampartHTTP

/// `GET /admin/quotas/top?limit=20[&route=chat]`: the identities using their quotas most right now
/// (hits in the current window), each with its quota's limit from the running config. The
/// dashboard's "top users"; also handy from curl when one caller floods a route.
enum AdminQuotasTop {
    static let defaultLimit = 20
    static let maxLimit = 1000

    static func handle(_ head: HTTPRequestHead, context: ServerContext, respond: @escaping (AdminService.Answer) -> Void) {
        let query = QueryString.parse(head.query ?? "")
        var limit = defaultLimit
        if let text = query["limit"] {
            guard let n = Int(text), (1...maxLimit).contains(n) else {
                respond((400, GatewayError(status: 400, code: "BAD_REQUEST", message: "limit must be a whole number from 1 to \(maxLimit)").bodyText, "application/json"))
                return
            }
            limit = n
        }
        let route = query["route"].flatMap { $0.isEmpty ? nil : $0 }
        var quotas: [String: [QuotaConfig]] = [:]
        for r in context.active.config.routes where quotas[r.name] == nil { quotas[r.name] = r.quotas }
        context.quotas.top(limit: limit, route: route, now: context.state.wallNow()) { result in
            switch result {
            case .success(let top):
                let items = top.uses.map { use in render(use, quota: quotas[use.route].flatMap { $0.indices.contains(use.index) ? $0[use.index] : nil }) }
                respond((200, JSONText.object([("top", JSONText.array(items)), ("scanned_keys", String(top.scannedKeys)),
                                               ("complete", top.complete ? "true" : "false")]), "application/json"))
            case .failure(let e):
                respond((503, GatewayError(status: 503, code: "OVERLOADED", message: "The quota store is unavailable (\(e.reason)).").bodyText, "application/json"))
            }
        }
    }

    /// One counter; `limit`, `per` and `remaining` are null when a reload removed its quota.
    private static func render(_ use: QuotaUse, quota: QuotaConfig?) -> String {
        JSONText.object([
            ("key", JSONText.quote(use.identity)), ("route", JSONText.quote(use.route)), ("index", String(use.index)),
            ("used", String(use.used)), ("limit", quota.map { String($0.limit) } ?? "null"),
            ("per", quota.map { JSONText.quote(formatDuration($0.per)) } ?? "null"),
            ("quota_key", quota.map { JSONText.quote($0.key.rawValue) } ?? "null"),
            ("unit", quota.map { JSONText.quote($0.unit == .tokens ? "tokens:" + $0.tokens.rawValue : "requests") } ?? "null"),
            ("remaining", quota.map { String(max(0, $0.limit - use.used)) } ?? "null"),
        ])
    }
}
