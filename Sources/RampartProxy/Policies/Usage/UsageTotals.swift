import RampartHTTP
import RampartLoop
import RampartTransport
/// Summed usage of some set of calls (one model in one window, or one route and model since start).
public struct UsageTotals: Sendable, Equatable {
    public var requests = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cacheReadTokens = 0
    public var cacheWriteTokens = 0
    /// Dollars; calls whose model has no price add tokens but nothing here.
    public var usd = 0.0

    public init() {}

    package mutating func add(_ u: TokenUsage, cost: Double) {
        requests += 1
        inputTokens += u.inputTokens
        outputTokens += u.outputTokens
        cacheReadTokens += u.cacheReadTokens
        cacheWriteTokens += u.cacheWriteTokens
        usd += cost
    }

    package mutating func add(_ o: UsageTotals) {
        requests += o.requests
        inputTokens += o.inputTokens
        outputTokens += o.outputTokens
        cacheReadTokens += o.cacheReadTokens
        cacheWriteTokens += o.cacheWriteTokens
        usd += o.usd
    }
}

/// One key's usage over one trailing window, per model (`GET /admin/usage`).
public struct UsageWindowTotals: Sendable, Equatable {
    /// Window length in seconds, as asked.
    public var window: Double
    public var perModel: [String: UsageTotals]

    /// All models together.
    public var total: UsageTotals {
        perModel.values.reduce(into: UsageTotals()) { $0.add($1) }
    }
    package init(window: Double, perModel: [String: UsageTotals]) {
        self.window = window; self.perModel = perModel
    }
}

/// Cumulative usage of one (route, model) since the process started, for Prometheus counters.
public struct UsageCounter: Sendable, Equatable {
    public var route: String
    public var model: String
    public var totals: UsageTotals
    package init(route: String, model: String, totals: UsageTotals) {
        self.route = route; self.model = model; self.totals = totals
    }
}
