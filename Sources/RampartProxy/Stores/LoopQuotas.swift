import RampartHTTP

/// The quota store as the filters and the admin API on one loop see it, the same whichever store
/// runs (memory or Redis): answers come back on the loop, at once or after a round trip.
public protocol LoopQuotas: AnyObject {
    var isHealthy: Bool { get }
    var lastError: String? { get }
    func acquire(_ rules: [QuotaRule], now: Double, _ done: @escaping (Result<QuotaDecision, QuotaStoreUnavailable>) -> Void)
    func peek(_ rules: [QuotaRule], now: Double, _ done: @escaping (Result<[QuotaStatus], QuotaStoreUnavailable>) -> Void)
    /// Charges a call's counted tokens to its token quotas (`tokens[i]` to `rules[i]`), timestamped `now`.
    func charge(_ rules: [QuotaRule], tokens: [Int], now: Double, _ done: @escaping (Result<Void, QuotaStoreUnavailable>) -> Void)
    /// The most used live counters (`GET /admin/quotas/top`).
    func top(limit: Int, route: String?, now: Double, _ done: @escaping (Result<QuotaTopResult, QuotaStoreUnavailable>) -> Void)
    func reset(identity: String, route: String?, _ done: @escaping (Result<Void, QuotaStoreUnavailable>) -> Void)
}

/// A store failure (Redis unreachable or timing out); `on_unavailable` decides what it means.
public struct QuotaStoreUnavailable: Error {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// Cost budgets shared by every replica (Redis): what the budget and usage filters ask of them.
public protocol SharedBudgets: AnyObject {
    /// Charges `usd` to `identity` at `now` (unix s); `horizon` is the longest budget window (s).
    func record(identity: String, usd: Double, now: Double, horizon: Double)
    /// Seconds until `identity` is back under `limit` dollars for `window` seconds (nil = under budget).
    func retryAfter(identity: String, window: Double, limit: Double, now: Double,
                    completion: @escaping (Result<Int?, RedisError>) -> Void)
}

/// AI usage shared by every replica (Redis), so `/admin/usage` reads fleet-wide totals from any of
/// them. Each call is added per key and for everyone; windows are read back by model.
public protocol SharedUsage: AnyObject {
    func record(key: String, model: String, usage: TokenUsage, cost: Double?, now: Double)
    /// Totals for `key` ("*" for everyone) over the last hour and day, by model.
    func totals(key: String, now: Double, completion: @escaping (Result<[UsageWindowTotals], RedisError>) -> Void)
}
