import RampartHTTP
import RampartLoop
import RampartTransport
/// What went wrong with one upstream attempt, as far as the retry policy cares.
public enum AttemptOutcome: Sendable, Equatable {
    /// The connection could not be made (refused, DNS, TLS handshake): nothing reached the upstream's
    /// application, so a retry is safe for any retryable method.
    case connectError
    /// No response byte arrived within `first_byte`. Timeouts after the first byte are not retried
    /// (the pipeline never asks then: bytes will already be on their way).
    case timeout
    /// The upstream answered with this status.
    case status(Int)
}

/// Everything `RetrySchedule.shouldRetry` needs to know about the attempt that just failed.
///
/// A struct rather than ten parameters so call sites name each fact and tests can vary one at a time.
public struct FailedAttempt: Sendable {
    public var method: String
    /// The request carries an `Idempotency-Key`: the client vouches that repeating it is safe.
    public var hasIdempotencyKey: Bool
    public var outcome: AttemptOutcome
    /// Any byte of a response already went to the client — retrying would splice two answers.
    public var responseStarted: Bool
    /// The body was kept whole and can be sent again (a body too large to keep cannot).
    public var bodyReplayable: Bool
    /// Attempts made so far, including this one (1 after the first try).
    public var attemptsSoFar: Int
    /// Seconds left of the upstream's `total` timeout.
    public var remainingTotal: Double
    /// The upstream's raw `Retry-After` value, if it sent one.
    public var retryAfter: String?

    public init(method: String, hasIdempotencyKey: Bool = false, outcome: AttemptOutcome,
                responseStarted: Bool = false, bodyReplayable: Bool = true, attemptsSoFar: Int,
                remainingTotal: Double, retryAfter: String? = nil) {
        self.method = method; self.hasIdempotencyKey = hasIdempotencyKey; self.outcome = outcome
        self.responseStarted = responseStarted; self.bodyReplayable = bodyReplayable
        self.attemptsSoFar = attemptsSoFar; self.remainingTotal = remainingTotal; self.retryAfter = retryAfter
    }
}

/// The retry policy's verdict on a failed attempt.
public enum RetryDecision: Sendable, Equatable {
    /// Wait this many seconds, then try again (ask `RetryBudget` first).
    case retry(after: Double)
    /// Return the upstream's answer (or the gateway's error) as it is.
    case giveUp(GiveUpReason)

    /// Stable labels for the access log and metrics.
    public enum GiveUpReason: String, Sendable, CaseIterable {
        case responseStarted = "response_started"
        case notRetryableOutcome = "outcome_not_retryable"
        case methodNotRetryable = "method_not_retryable"
        case bodyNotReplayable = "body_not_replayable"
        case attemptsExhausted = "attempts_exhausted"
        case totalTimeExhausted = "total_time_exhausted"
        case retryAfterTooLong = "retry_after_too_long"
    }
}
