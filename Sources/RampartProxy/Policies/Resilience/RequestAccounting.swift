import RampartLoop

/// What one client request tells the circuit breaker and the retry budget (SPEC §11.4): one
/// admission, one outcome however many attempts it took, one budget charge however many retries.
///
/// Why the last attempt's outcome and nothing before it: that is what the client got. Counting
/// every attempt made a request retried twice weigh three failures, so Rampart's own retries (and
/// an SDK's retries on top) opened the breaker while few clients had actually failed.
/// Kept apart from `UpstreamAttempts` so the counting is unit-tested with a manual clock.
struct RequestAccounting {
    /// The header the official Anthropic and OpenAI SDKs send: 0 on the first try, n on retry n.
    static let sdkRetryHeader = "x-stainless-retry-count"

    /// Why a failed attempt is not tried again.
    enum Refusal: Equatable {
        /// The retry policy's own reason (method, outcome, attempts, time left).
        case policy(RetryDecision.GiveUpReason)
        /// The caller is an SDK already retrying (its counter > 0): our retries would multiply its.
        case sdkRetrying
        /// The breaker is not closed: one that opened meanwhile wins, and a probe is one attempt.
        case breakerNotClosed
        /// The upstream's retry budget has no room for another retrying request.
        case budgetExhausted
    }

    enum Verdict: Equatable {
        case retry(after: Double)
        case refused(Refusal)
    }

    private let breakers: BreakerRegistry
    /// The request's breaker, looked up once: every later step uses it without a lookup by name.
    private let breaker: BreakerCell?
    private let budget: RetryBudget
    /// Admitted as the half-open breaker's probe: its one outcome decides, or the slot is given back.
    private var isProbe = false
    /// The last attempt's outcome, not yet told to the breaker: a retry may still replace it.
    private var pending: CircuitBreaker.Outcome?
    /// The request's one charge in the retry budget, taken at its first retry, kept for the others.
    private var holdsRetrySlot = false

    init(breakers: BreakerRegistry, breakerName: String, budget: RetryBudget) {
        self.init(breakers: breakers, breaker: breakers.cell(breakerName), budget: budget)
    }

    init(breakers: BreakerRegistry, breaker: BreakerCell?, budget: RetryBudget) {
        self.breakers = breakers; self.breaker = breaker; self.budget = budget
    }

    /// Asks the breaker; an admitted request is counted once in the retry budget's requests.
    mutating func admit(now: Double) -> CircuitBreaker.Admission {
        let admission = breakers.admit(breaker, now: now)
        if case .rejected = admission { return admission }
        isProbe = admission == .probe
        budget.recordRequest(now: now)
        return admission
    }

    /// An attempt ended: connect errors, timeouts and 5xx are failures, the rest successes.
    mutating func attemptEnded(_ outcome: CircuitBreaker.Outcome) {
        pending = outcome
    }

    /// Whether the failed `attempt` is tried again: the SDK's counter, then the retry policy, the
    /// breaker, and the budget (charged on the request's first retry only).
    mutating func retry(after attempt: FailedAttempt, config: RetryConfig, sdkRetryCount: Int,
                        random: Double, now: Double) -> Verdict {
        if sdkRetryCount > 0 { return .refused(.sdkRetrying) }
        let delay: Double
        switch RetrySchedule.shouldRetry(attempt, config: config, random: random, now: now) {
        case .giveUp(let reason): return .refused(.policy(reason))
        case .retry(let after): delay = after
        }
        guard !isProbe, breakers.allowsRetry(breaker) else { return .refused(.breakerNotClosed) }
        if !holdsRetrySlot {
            guard budget.tryAcquireRetry(now: now) else { return .refused(.budgetExhausted) }
            holdsRetrySlot = true
        }
        return .retry(after: delay)
    }

    /// No other attempt follows: the last outcome goes to the breaker, once.
    /// `now` is read only when there is an outcome to tell (callers pass `state.wallNow()`).
    mutating func settle(now: @autoclosure () -> Double) {
        guard let outcome = pending else { return }
        pending = nil
        breakers.record(breaker, outcome: outcome, probe: isProbe, now: now())
        isProbe = false
    }

    /// The request is over. An outcome still pending (the client left between attempts) is told;
    /// a probe that ended with none is given back, so it cannot wedge the breaker half-open; the
    /// budget slot returns.
    mutating func finish(now: @autoclosure () -> Double) {
        settle(now: now())
        if isProbe { breakers.releaseProbe(breaker); isProbe = false }
        if holdsRetrySlot { budget.releaseRetry(); holdsRetrySlot = false }
    }

    /// The breaker's state now, for the access line.
    var breakerState: String? { breaker?.state.rawValue }

    /// The SDK's retry counter from its header value: 0 when absent or not a number.
    static func sdkRetryCount(_ value: String?) -> Int {
        guard let value else { return 0 }
        var trimmed = Substring(value)
        while trimmed.first == " " || trimmed.first == "\t" { trimmed = trimmed.dropFirst() }
        while trimmed.last == " " || trimmed.last == "\t" { trimmed = trimmed.dropLast() }
        return Int(trimmed).map { max(0, $0) } ?? 0
    }
}
