import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The `shouldRetry` table: each fact that can stop a retry, one at a time, against the SPEC §3 defaults
/// (3 attempts, 1 s backoff, on connect/timeout/429/502/503/504, methods GET HEAD OPTIONS PUT DELETE).
@Suite struct RetryDecisionTests {
    let now = 1_700_000_000.0          // 2023-11-14 22:13:20 GMT
    let config = RetryConfig.specDefaults

    /// A retryable failure; each test changes one thing. random 0.5 → no jitter → first delay 1 s.
    func attempt(method: String = "GET", key: Bool = false, outcome: AttemptOutcome = .status(503),
                 started: Bool = false, replayable: Bool = true, soFar: Int = 1, remaining: Double = 100,
                 retryAfter: String? = nil) -> RetryDecision {
        RetrySchedule.shouldRetry(
            FailedAttempt(method: method, hasIdempotencyKey: key, outcome: outcome, responseStarted: started,
                          bodyReplayable: replayable, attemptsSoFar: soFar, remainingTotal: remaining,
                          retryAfter: retryAfter),
            config: config, random: 0.5, now: now)
    }

    @Test(arguments: ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get"])
    func retryableMethods(method: String) {
        #expect(attempt(method: method) == .retry(after: 1))
    }

    @Test(arguments: ["POST", "PATCH", "CONNECT"])
    func otherMethodsAreNotRetried(method: String) {
        #expect(attempt(method: method) == .giveUp(.methodNotRetryable))
    }

    @Test func anIdempotencyKeyMakesPostRetryable() {
        #expect(attempt(method: "POST", key: true) == .retry(after: 1))
        #expect(attempt(method: "PATCH", key: true) == .retry(after: 1))
    }

    @Test(arguments: [AttemptOutcome.connectError, .timeout, .status(429), .status(502), .status(503), .status(504)])
    func outcomesInTheOnList(outcome: AttemptOutcome) {
        #expect(attempt(outcome: outcome) == .retry(after: 1))
    }

    @Test(arguments: [200, 201, 400, 401, 404, 409, 500, 501])
    func statusesNotInTheOnList(status: Int) {
        #expect(attempt(outcome: .status(status)) == .giveUp(.notRetryableOutcome))
    }

    @Test func onListWithoutConnectOrTimeout() {
        var c = config
        c.on = ["500"]
        let failed = { (o: AttemptOutcome) in
            RetrySchedule.shouldRetry(FailedAttempt(method: "GET", outcome: o, attemptsSoFar: 1, remainingTotal: 100),
                                      config: c, random: 0.5, now: now)
        }
        #expect(failed(.connectError) == .giveUp(.notRetryableOutcome))
        #expect(failed(.timeout) == .giveUp(.notRetryableOutcome))
        #expect(failed(.status(500)) == .retry(after: 1))
    }

    @Test func neverAfterResponseBytesReachedTheClient() {
        #expect(attempt(started: true) == .giveUp(.responseStarted))
        #expect(attempt(key: true, outcome: .timeout, started: true) == .giveUp(.responseStarted))
    }

    @Test func aBodyThatWasNotKeptIsNotReplayed() {
        #expect(attempt(method: "PUT", replayable: false) == .giveUp(.bodyNotReplayable))
    }

    @Test func attemptsAreCountedAgainstTheLimit() {
        #expect(attempt(soFar: 1) == .retry(after: 1))
        #expect(attempt(soFar: 2) == .retry(after: 2))
        #expect(attempt(soFar: 3) == .giveUp(.attemptsExhausted))
        var single = config
        single.attempts = 1
        let once = RetrySchedule.shouldRetry(FailedAttempt(method: "GET", outcome: .connectError, attemptsSoFar: 1,
                                                           remainingTotal: 100), config: single, random: 0.5, now: now)
        #expect(once == .giveUp(.attemptsExhausted))
    }

    @Test func theDelayMustFitTheRemainingTotal() {
        #expect(attempt(soFar: 2, remaining: 2.5) == .retry(after: 2))
        #expect(attempt(soFar: 2, remaining: 2) == .giveUp(.totalTimeExhausted))
        #expect(attempt(remaining: 0) == .giveUp(.totalTimeExhausted))
    }

    @Test func retryAfterSecondsThatFit() {
        #expect(attempt(outcome: .status(429), remaining: 10, retryAfter: "7") == .retry(after: 7))
        #expect(attempt(outcome: .status(503), remaining: 10, retryAfter: " 3 ") == .retry(after: 3))
    }

    @Test func retryAfterSecondsThatDoNotFitReturnTheUpstreamsAnswer() {
        #expect(attempt(outcome: .status(429), remaining: 10, retryAfter: "10") == .giveUp(.retryAfterTooLong))
        #expect(attempt(outcome: .status(503), remaining: 10, retryAfter: "3600") == .giveUp(.retryAfterTooLong))
        #expect(attempt(outcome: .status(503), remaining: 10, retryAfter: "99999999999999999999999") == .giveUp(.retryAfterTooLong))
    }

    @Test func retryAfterIsALowerBoundNeverShorterThanBackoff() {
        #expect(attempt(outcome: .status(503), retryAfter: "0") == .retry(after: 1))
        #expect(attempt(outcome: .status(503), soFar: 2, retryAfter: "1") == .retry(after: 2))
    }

    @Test func retryAfterHTTPDateThatFits() {
        // now + 5 s
        #expect(attempt(outcome: .status(503), remaining: 30, retryAfter: "Tue, 14 Nov 2023 22:13:25 GMT") == .retry(after: 5))
        // A date in the past means "now": our own backoff applies.
        #expect(attempt(outcome: .status(503), remaining: 30, retryAfter: "Tue, 14 Nov 2023 22:00:00 GMT") == .retry(after: 1))
    }

    @Test func retryAfterHTTPDateThatDoesNotFit() {
        #expect(attempt(outcome: .status(503), remaining: 30, retryAfter: "Tue, 14 Nov 2023 22:14:20 GMT") == .giveUp(.retryAfterTooLong))
    }

    @Test func unparsableRetryAfterFallsBackToBackoff() {
        #expect(attempt(outcome: .status(503), retryAfter: "soon") == .retry(after: 1))
        #expect(attempt(outcome: .status(503), retryAfter: "-5") == .retry(after: 1))
    }

    @Test func giveUpReasonLabelsAreStable() {
        #expect(RetryDecision.GiveUpReason.allCases.map(\.rawValue) == [
            "response_started", "outcome_not_retryable", "method_not_retryable", "body_not_replayable",
            "attempts_exhausted", "total_time_exhausted", "retry_after_too_long",
        ])
    }
}

extension RetryConfig {
    /// The `retry` block of the SPEC §3 example (the struct's own default is 1 attempt = no retry).
    static var specDefaults: RetryConfig {
        var c = RetryConfig()
        c.attempts = 3
        return c
    }
}
