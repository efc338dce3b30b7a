import Foundation

/// Retries and the circuit breaker (SPEC §7.2–7.3) in the request's story.
extension ProxyExchange {
    /// Feeds the breaker once per attempt: connect errors, timeouts and 5xx are failures, 4xx not.
    func recordOutcome(_ outcome: CircuitBreaker.Outcome) {
        guard !outcomeRecorded else { return }
        outcomeRecorded = true
        context.state.breakers.record(upstream: breakerName, outcome: outcome, probe: isProbe, now: context.state.clock.now())
        isProbe = false
    }

    /// Retries the request when SPEC §7.2 allows it: a listed outcome, a retryable method or an
    /// Idempotency-Key, nothing sent to the client yet, a replayable body, attempts and total
    /// time left, and room in the retry budget. Returns true when a retry is scheduled.
    func retryIfAllowed(_ outcome: AttemptOutcome, retryAfter: String?) -> Bool {
        guard let retry = route.retry, retry.attempts > 1, !responseStarted else { return false }
        let remaining = Double(Int64(started &+ ctx.plan.deadlines.totalNs) - Int64(context.loop.now)) / 1e9
        let attempt = FailedAttempt(method: head.method, hasIdempotencyKey: head.headers.contains("Idempotency-Key"),
                                    outcome: outcome, responseStarted: false,
                                    bodyReplayable: !hasBody || (bodyEnded && replayBody != nil),
                                    attemptsSoFar: retries + 1, remainingTotal: remaining, retryAfter: retryAfter)
        guard case .retry(let delay) = RetrySchedule.shouldRetry(attempt, config: retry, random: ThreadRandom.unit(),
                                                                 now: context.state.clock.now()) else { return false }
        // A breaker that opened meanwhile wins over our retry.
        if case .rejected = context.state.breakers.admit(upstream: breakerName, now: context.state.clock.now()) { return false }
        let budget = context.state.retryBudget(upstream: upstream.name)
        if holdsRetrySlot { budget.releaseRetry(); holdsRetrySlot = false }
        guard budget.tryAcquireRetry(now: context.state.clock.now()) else {
            context.metrics.upstreamError(upstream.name, kind: "retry_budget_exhausted")
            return false
        }
        holdsRetrySlot = true
        call?.cancel(); call = nil
        retries += 1
        context.metrics.retry(upstream: upstream.name)
        disarmTimeout()
        armTimer(at: started &+ ctx.plan.deadlines.totalNs)
        retryTimer = context.loop.schedule(afterMs: Int(delay * 1000)) { [self] in
            retryTimer = nil
            guard stage == .proxying else { return }
            disarmTimeout()
            lastUpstreamActivity = context.loop.now
            launchAttempt(body: hasBody ? replayBody : nil)
        }
        return true
    }

    func timedOut() {
        let t = route.timeouts
        let kind = context.loop.now &- started >= t.total.nanoseconds ? "total" : (awaitingHead ? "first_byte" : "idle")
        context.metrics.timeout(kind: kind)
        context.metrics.upstreamError(upstream.name, kind: kind)   // per attempt, as timeouts are
        call?.cancel(); call = nil
        if stage == .intercepted { interceptor?.interceptedBodyEnded(.timeout(kind)); return }
        if awaitingHead {
            recordOutcome(.failure)
            if kind == "first_byte" && retryIfAllowed(.timeout, retryAfter: nil) { return }
        }
        respondWithError(nil, cause: .timeout(kind))
    }
}
