import RampartHTTP
import RampartLoop

/// `"format": "openai-realtime"` (SPEC §11.6): each `response.done` event is one AI call for the
/// books: its usage goes to the ledger (per user, route and model), to shared budgets, and to the
/// route's token quotas, as an HTTP AI call's would. After each, a caller whose token quota or
/// budget is now spent has the session closed with 1008: the response they paid for has already
/// been relayed whole, the next one is not started on credit.
final class RealtimeUsage {
    private let ctx: RequestContext
    private let tokenQuotas: [QuotaConfig]
    private let budgets: BudgetPolicy?
    /// The model as the handshake asked (`?model=`), then as the session reports it.
    private var model: String?
    private(set) var responses = 0

    init(ctx: RequestContext) {
        self.ctx = ctx
        tokenQuotas = ctx.route.quotas.filter { $0.unit == .tokens }
        let budgets = ctx.config.usage.budgets
        self.budgets = budgets.isEmpty ? nil : BudgetPolicy(budgets: budgets, ledger: ctx.server.state.usage)
        model = ctx.head.query.flatMap(Self.modelParameter)
    }

    /// A whole text message from the upstream. Audio deltas are most of the traffic: a message that
    /// does not name the two event types read here is not parsed at all.
    func message(_ bytes: [UInt8], session: WebSocketSession) {
        let done = Self.contains(bytes, Self.responseDone)
        guard done || Self.contains(bytes, Self.sessionEvent) else { return }
        guard let doc = try? JSONValue.parse(bytes), case .string(let type)? = doc["type"] else { return }
        if type == "session.created" || type == "session.updated" {
            if case .string(let m)? = doc["session"]?["model"], !m.isEmpty { model = m }
            return
        }
        guard type == "response.done" else { return }
        var acc = UsageAccumulator()
        acc.absorb(document: doc)
        guard var usage = acc.result else { return }
        if usage.model == nil { usage.model = model }
        responses += 1
        UsageFilter.record(usage, ctx: ctx)
        if !tokenQuotas.isEmpty { QuotaPolicy.chargeTokens(usage, quotas: tokenQuotas, ctx: ctx) }
        checkLimits(session)
    }

    /// Closes the session with 1008 when a token quota or a budget of this caller is spent.
    private func checkLimits(_ session: WebSocketSession) {
        let server = ctx.server
        if !tokenQuotas.isEmpty {
            let rules = QuotaRule.rules(for: tokenQuotas, route: ctx.route.name, user: ctx.user, ip: ctx.clientIP)
            // Token rules are only checked by acquire, never spent: this records nothing.
            server.quotas.acquire(rules, now: server.state.wallNow()) { [weak session] result in
                guard case .success(.limited) = result else { return }
                session?.close(.policyViolation, reason: "token quota exceeded")
            }
        }
        budgets?.requestHead(ctx) { [weak session] verdict in
            guard case .reject = verdict else { return }
            session?.close(.policyViolation, reason: "AI budget exceeded")
        }
    }

    static func modelParameter(_ query: String) -> String? {
        QueryString.parse(query)["model"].flatMap { $0.isEmpty ? nil : $0 }
    }

    private static let responseDone = Array("\"response.done\"".utf8)
    private static let sessionEvent = Array("\"session.".utf8)

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        return bytes.withUnsafeBufferPointer { b in
            let first = needle[0]
            var i = 0
            let last = b.count - needle.count
            while i <= last {
                if b[i] == first && b[i..<(i + needle.count)].elementsEqual(needle) { return true }
                i += 1
            }
            return false
        }
    }
}
