import RampartHTTP
import RampartLoop
import RampartTransport
import Synchronization

/// Caps retries of one upstream to `budget_percent` of its requests over the last 10 s (SPEC §7.2),
/// the defence against retry storms: when an upstream fails for everyone, per-request retry limits
/// alone would multiply its load by `attempts` exactly when it can least take it.
///
/// Semantics follow Envoy's retry budget: a retry is allowed while retries in the window stay within
/// the percentage of requests in the window, and — so a quiet upstream with few requests can still
/// retry at all — up to `minConcurrent` retries in flight are always allowed (`min_retry_concurrency`).
///
/// Usage: `recordRequest` once per client request (not per attempt); before each retry
/// `tryAcquireRetry`, and when that retry attempt finishes, `releaseRetry`.
/// Thread-safe (one Mutex): all event loops share the budget of an upstream.
public final class RetryBudget: Sendable {
    public let percent: Double
    public let minConcurrent: Int

    private struct State: Sendable {
        package var window: RollingCounts      // first = requests, second = retries
        package var active = 0
    }
    private let state: Lock<State>

    public init(percent: Double, window: Double = 10, minConcurrent: Int = 3) {
        self.percent = percent
        self.minConcurrent = minConcurrent
        state = Lock(State(window: RollingCounts(window: window)))
    }

    public func recordRequest(now: Double) {
        state.withLock { $0.window.add(first: 1, now: now) }
    }

    /// Takes a retry slot if the budget allows; on true the caller must `releaseRetry` later.
    public func tryAcquireRetry(now: Double) -> Bool {
        state.withLock { s in
            let totals = s.window.totals(now: now)
            let allowed = s.active < minConcurrent
                || Double(totals.second + 1) <= percent / 100 * Double(totals.first)
            guard allowed else { return false }
            s.active += 1
            s.window.add(second: 1, now: now)
            return true
        }
    }

    public func releaseRetry() {
        state.withLock { if $0.active > 0 { $0.active -= 1 } }
    }

    /// Retries in flight now (for metrics and tests).
    public var activeRetries: Int { state.withLock { $0.active } }
}
