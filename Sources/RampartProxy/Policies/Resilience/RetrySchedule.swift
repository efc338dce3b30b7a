import RampartHTTP
import RampartLoop
import RampartTransport
/// The retry policy of SPEC §7.2 as pure functions: when to retry and how long to wait.
///
/// Pure (randomness and time passed in) so the schedule can be checked exactly in unit tests; the
/// pipeline supplies `Double.random(in: 0..<1)` and the remaining time of the request.
public enum RetrySchedule {
    /// Backoff before retry number `attempt` (1 = first retry), in seconds:
    /// `min(backoff · 2^(attempt−1), max_backoff) · (1 + jitter · (2·random − 1))`.
    ///
    /// Jitter spreads clients that failed together so they do not come back together; it is applied
    /// after the cap so even capped retries stay spread.
    public static func delay(attempt: Int, config: RetryConfig, random: Double) -> Double {
        let base = config.backoff.resilienceSeconds
        let cap = config.maxBackoff.resilienceSeconds
        var exponential = base
        var step = 1
        // Doubling with an early stop instead of pow(): no Foundation, no overflow for big attempts.
        while step < attempt, exponential < cap {
            exponential *= 2
            step += 1
        }
        let r = min(max(random, 0), 1)
        let jitter = min(max(config.jitter, 0), 1)
        return max(0, min(exponential, cap) * (1 + jitter * (2 * r - 1)))
    }

    /// Whether the outcome is in the `on` list ("connect", "timeout", or a status such as "503").
    public static func isRetryable(_ outcome: AttemptOutcome, config: RetryConfig) -> Bool {
        switch outcome {
        case .connectError: return config.on.contains("connect")
        case .timeout: return config.on.contains("timeout")
        case .status(let code): return config.on.contains(String(code))
        }
    }

    /// Decides what to do after a failed attempt. Checks run from "never" to "not now":
    /// bytes sent → outcome → method/key → body → attempts → time.
    ///
    /// An upstream `Retry-After` (only read for status answers) is honoured as a lower bound on the
    /// wait — never sooner than our own backoff, so a `Retry-After: 0` cannot start a storm. If that wait
    /// does not fit in the remaining `total`, the upstream's own answer is returned: it tells the
    /// client when to come back, which beats a gateway timeout.
    public static func shouldRetry(_ attempt: FailedAttempt, config: RetryConfig, random: Double,
                                   now: Double) -> RetryDecision {
        if attempt.responseStarted { return .giveUp(.responseStarted) }
        if !isRetryable(attempt.outcome, config: config) { return .giveUp(.notRetryableOutcome) }
        if !attempt.hasIdempotencyKey, !config.methods.contains(attempt.method.uppercased()) {
            return .giveUp(.methodNotRetryable)
        }
        if !attempt.bodyReplayable { return .giveUp(.bodyNotReplayable) }
        if attempt.attemptsSoFar >= config.attempts { return .giveUp(.attemptsExhausted) }

        let backoff = delay(attempt: max(1, attempt.attemptsSoFar), config: config, random: random)
        if case .status = attempt.outcome, let header = attempt.retryAfter,
           let asked = RetryAfter.seconds(header, now: now) {
            let wait = max(asked, backoff)
            return wait < attempt.remainingTotal ? .retry(after: wait) : .giveUp(.retryAfterTooLong)
        }
        return backoff < attempt.remainingTotal ? .retry(after: backoff) : .giveUp(.totalTimeExhausted)
    }
}
