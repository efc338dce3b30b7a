import RampartHTTP
import RampartLoop
import RampartTransport
import Synchronization

/// Process-wide record of AI usage: per key (e.g. `user:u1`) in one-minute buckets for `/admin/usage` and
/// budgets, and per (route, model) cumulatively for metrics.
///
/// Memory is bounded three ways: buckets older than `horizon` (the longest window anyone asks about) are
/// dropped, at most `maxKeys` keys are kept (the least recently active go first), and at most `maxModels`
/// distinct model names are tracked (later ones count as `other`), since model names come from upstream
/// responses and must not grow the ledger without bound. Times are passed in, so tests drive the clock.
public final class UsageLedger: Sendable {
    /// The gateway's ledger; the pipeline records into it and admin/metrics read from it.
    public static let shared = UsageLedger()

    /// Where model names beyond `maxModels` (or empty ones) are counted.
    public static let overflowModel = "other"
    /// Model names are cut to this many characters, so one odd response cannot bloat every bucket.
    static let maxModelLength = 128

    public let bucketSeconds: Double
    public let maxKeys: Int
    public let maxModels: Int

    private struct RouteModel: Hashable { var route: String; var model: String }
    private struct State {
        package var horizon: Double
        package var keys: [String: UsageHistory] = [:]
        /// Every key's calls together, for the dashboard's usage by model (one history, so bounded like a key).
        var everyone = UsageHistory()
        package var models: Set<String> = []
        package var counters: [RouteModel: UsageTotals] = [:]
        var recordsSinceSweep = 0
    }
    private let state: Lock<State>

    /// - Parameter horizon: seconds of per-key history kept; at least the longest budget or usage window.
    public init(horizon: Double = 86_400, bucketSeconds: Double = 60, maxKeys: Int = 10_000, maxModels: Int = 256) {
        self.bucketSeconds = bucketSeconds
        self.maxKeys = max(1, maxKeys)
        self.maxModels = max(1, maxModels)
        state = Lock(State(horizon: horizon))
    }

    /// Seconds of history kept per key.
    public var horizon: Double { state.withLock { $0.horizon } }

    /// Raises the history kept, e.g. when a reloaded config has a budget with a longer window. Never lowers
    /// it, so history already kept is never cut short by a reload.
    public func ensureHorizon(_ seconds: Double) {
        state.withLock { $0.horizon = max($0.horizon, seconds) }
    }

    /// Records one finished call. `cost` is nil when the model has no price: tokens still count.
    public func record(key: String, route: String, model: String, usage: TokenUsage, cost: Double?, now: Double) {
        let index = Int((now / bucketSeconds).rounded(.down))
        let spend = max(0, cost ?? 0)
        state.withLock { s in
            let name = Self.modelName(model, in: &s.models, max: maxModels)
            s.counters[RouteModel(route: route, model: name), default: UsageTotals()].add(usage, cost: spend)
            s.keys[key, default: UsageHistory()].add(model: name, usage: usage, cost: spend, index: index, now: now)
            s.keys[key]?.prune(now: now, horizon: s.horizon, bucketSeconds: bucketSeconds)
            s.everyone.add(model: name, usage: usage, cost: spend, index: index, now: now)
            s.everyone.prune(now: now, horizon: s.horizon, bucketSeconds: bucketSeconds)
            s.recordsSinceSweep += 1
            if s.keys.count > maxKeys || s.recordsSinceSweep >= 4096 { sweep(&s, now: now) }
        }
    }

    /// Totals per model for each trailing window (seconds), in the order asked.
    public func totals(key: String, windows: [Double], now: Double) -> [UsageWindowTotals] {
        state.withLock { s in windowTotals(s.keys[key], windows: windows, now: now) }
    }

    /// Totals per model of every key's calls together, for each trailing window (`GET /admin/usage`
    /// without a key). Keys evicted by the `maxKeys` cap still count here.
    public func totalsForEveryone(windows: [Double], now: Double) -> [UsageWindowTotals] {
        state.withLock { s in windowTotals(s.everyone, windows: windows, now: now) }
    }

    private func windowTotals(_ history: UsageHistory?, windows: [Double], now: Double) -> [UsageWindowTotals] {
        windows.map { window in
            var perModel: [String: UsageTotals] = [:]
            for bucket in history?.inWindow(window, now: now, bucketSeconds: bucketSeconds) ?? [] {
                for (model, t) in bucket.models { perModel[model, default: UsageTotals()].add(t) }
            }
            return UsageWindowTotals(window: window, perModel: perModel)
        }
    }

    /// Dollars the key spent in the trailing window.
    public func spent(key: String, window: Double, now: Double) -> Double {
        state.withLock { s in
            guard let history = s.keys[key] else { return 0 }
            return history.inWindow(window, now: now, bucketSeconds: bucketSeconds).reduce(0) { $0 + $1.usd }
        }
    }

    /// For a key at or over `limit` dollars in the window: whole seconds (≥ 1) until enough of its spending
    /// has left the window to be under the limit again, for `Retry-After`. nil when under budget.
    public func budgetRetryAfter(key: String, window: Double, limit: Double, now: Double) -> Int? {
        state.withLock { s in
            let buckets = s.keys[key]?.inWindow(window, now: now, bucketSeconds: bucketSeconds) ?? []
            var remaining = buckets.reduce(0) { $0 + $1.usd }
            guard remaining >= limit else { return nil }
            for bucket in buckets {
                remaining -= bucket.usd
                if remaining < limit {
                    return Self.seconds(Double(bucket.endIndex) * bucketSeconds + window - now)
                }
            }
            return Self.seconds(window)   // limit ≤ 0: nothing ever gets under it; ask for a full window
        }
    }

    /// Cumulative per-(route, model) totals, sorted for stable metrics output.
    public func snapshotCounters() -> [UsageCounter] {
        state.withLock { s in
            s.counters.map { UsageCounter(route: $0.key.route, model: $0.key.model, totals: $0.value) }
        }.sorted { ($0.route, $0.model) < ($1.route, $1.model) }
    }

    /// Keys currently holding history (for tests and status).
    public var keyCount: Int { state.withLock { $0.keys.count } }

    /// Buckets one key holds (for tests: merged tiers keep it small).
    package func bucketCount(key: String) -> Int { state.withLock { $0.keys[key]?.buckets.count ?? 0 } }

    private static func seconds(_ s: Double) -> Int {
        guard s.isFinite else { return 1 }
        return max(1, Int(min(s, 1e9).rounded(.up)))
    }

    private static func modelName(_ model: String, in models: inout Set<String>, max: Int) -> String {
        let name = String(model.prefix(maxModelLength))
        if name.isEmpty { return overflowModel }
        if models.contains(name) { return name }
        guard models.count < max else { return overflowModel }
        models.insert(name)
        return name
    }

    /// Drops expired history, then, if still over `maxKeys`, the least recently active keys down to 90%
    /// of the cap (so the sort is paid once per many inserts, not on every new key).
    private func sweep(_ s: inout State, now: Double) {
        s.recordsSinceSweep = 0
        for key in Array(s.keys.keys) {
            s.keys[key]?.prune(now: now, horizon: s.horizon, bucketSeconds: bucketSeconds)
            if s.keys[key]?.buckets.isEmpty == true { s.keys[key] = nil }
        }
        guard s.keys.count > maxKeys else { return }
        let target = max(1, maxKeys * 9 / 10)
        let oldestFirst = s.keys.sorted { $0.value.lastSeen < $1.value.lastSeen }
        for (key, _) in oldestFirst.prefix(s.keys.count - target) { s.keys[key] = nil }
    }
}
