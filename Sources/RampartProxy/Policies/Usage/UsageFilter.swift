import Foundation
import RampartLoop
import RampartTransport
import RampartHTTP

/// Counts what every AI response reports (SPEC §8.3): tokens and dollars per key, route and model
/// into the ledger, and with the Redis store a charge to every budget's key so all replicas share
/// one spend. Read from the stream as it passes (SSE events or a JSON body), never buffered.
/// On an AI route (SPEC §11.2) no call escapes: one whose response reports no usage is charged an
/// estimate made from its request (the body's length, its max tokens).
struct UsageCounting: RouteFilter {
    let aiRoute: Bool
    var phases: FilterPhases { aiRoute ? [.requestBody, .response] : .response }
    func readsBody(_ ctx: RequestContext) -> Bool { ctx.head.method == "POST" && ctx.head.framing != .none }
    func requestBody(_ body: [UInt8], _ ctx: RequestContext, _ done: @escaping (BodyVerdict) -> Void) {
        ctx.usageEstimate = UsageEstimate.of(body, config: ctx.config.usage)
        done(.proceed(body))
    }
    package func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? { head.status < 400 ? UsageFilter(ctx) : nil }
}

final class UsageFilter: ResponseFilter {
    private let ctx: RequestContext
    private var tap: UsageTap?
    /// The stream reached its terminal event (`[DONE]`, `message_stop`): the usage it reported is
    /// final even when the client hangs up before the upstream's last bytes, as the SDKs do.
    private var sawFinal = false

    package init(_ ctx: RequestContext) { self.ctx = ctx }

    package func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict {
        let type = headers["Content-Type"]?.lowercased() ?? ""
        if type.hasPrefix("text/event-stream") || type.contains("json") { tap = UsageTap(contentType: type) }
        return .pass
    }

    /// Event streams come as events (parsed once by the core); JSON bodies as bytes.
    var wantsEvents: Bool { tap?.kind == .eventStream }
    func responseEvent(_ event: SSEEvent) {
        tap?.take(event)
        if !sawFinal, StreamCompletion.isFinal(event, anthropic: ctx.route.format == .anthropic) { sawFinal = true }
    }
    func responseEventsEnded(unterminated: SSEEvent?) { if let event = unterminated { tap?.take(event) } }
    func responseBody(_ bytes: UnsafeRawBufferPointer) { tap?.feed(bytes) }

    /// However it ended: a stream cut short still spent the tokens it reported.
    package func completed(_ ending: ExchangeEnding) {
        let server = ctx.server, config = ctx.config
        var read = tap?.finish()
        tap = nil
        if let estimate = ctx.usageEstimate {
            if read == nil {
                read = estimate
                server.metrics.usageEstimated(route: ctx.route.name)
            } else if ending != .complete, !sawFinal, let partial = read, partial.outputTokens < estimate.outputTokens {
                // Cut before its final usage (Anthropic's message_start says 1 output token):
                // the output is charged as estimated, so leaving early makes no call cheaper.
                // Past the terminal event nothing was cut: the usage read is the real one.
                read?.outputTokens = estimate.outputTokens
                server.metrics.usageEstimated(route: ctx.route.name)
            }
        }
        guard let usage = read else { return }
        ctx.countedUsage = usage
        Self.record(usage, ctx: ctx)
    }

    /// Puts one call's usage in the ledger (tokens and dollars per key, route and model) and, with
    /// the Redis store, charges its cost to every budget's shared key.
    static func record(_ usage: TokenUsage, ctx: RequestContext) {
        let server = ctx.server, config = ctx.config
        let cost = UsageCost.cost(usage, prices: config.usage.prices)
        let now = server.state.wallNow()
        server.state.usage.record(key: ctx.identityKey, route: ctx.route.name, model: usage.model ?? "unknown",
                                  usage: usage, cost: cost, now: now)
        server.sharedUsage?.record(key: ctx.identityKey, model: usage.model ?? "unknown", usage: usage, cost: cost, now: now)
        if let redis = server.sharedBudgets, let cost, cost > 0 {
            let budgets = config.usage.budgets
            let horizon = budgets.map { Double($0.per.configMilliseconds) / 1000 }.max() ?? 86_400
            var charged = Set<String>()
            for b in budgets {
                let key = BudgetPolicy.key(b.key, ctx)
                if charged.insert(key).inserted { redis.record(identity: key, usd: cost, now: now, horizon: horizon) }
            }
        }
    }
}
