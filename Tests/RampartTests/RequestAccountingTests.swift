import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// One client request is one breaker event and one retry-budget charge however many attempts it
/// took, and an SDK that retries itself is not retried again (SPEC §11.4). Driven with a manual
/// clock through the same `RequestAccounting` calls `UpstreamAttempts` makes.
@Suite struct RequestAccountingTests {
    typealias F = BreakerFixture
    let clock = ManualClock(F.t0)
    /// 3 attempts, 1 s backoff without jitter (random 0.5), on 503.
    let retry = RetryConfig.specDefaults

    /// Runs one request whose attempts answer `statuses` in turn (until one is not retried), as the
    /// pipeline does: admit, each attempt's outcome, the retry verdict, backoff, settle, finish.
    /// Returns the attempts made and the verdict that ended them.
    @discardableResult
    func request(_ statuses: [Int], breakers: BreakerRegistry, budget: RetryBudget, sdkRetryCount: Int = 0,
                 method: String = "GET") -> (attempts: Int, last: RequestAccounting.Verdict?) {
        var accounting = RequestAccounting(breakers: breakers, breakerName: "app", budget: budget)
        guard accounting.admit(now: clock.now()).isAdmitted else { return (0, nil) }
        var attempts = 0, last: RequestAccounting.Verdict?
        for status in statuses {
            attempts += 1
            accounting.attemptEnded(status >= 500 ? .failure : .success)
            guard status >= 500 else { last = nil; break }
            let failed = FailedAttempt(method: method, outcome: .status(status), attemptsSoFar: attempts, remainingTotal: 100)
            last = accounting.retry(after: failed, config: retry, sdkRetryCount: sdkRetryCount, random: 0.5, now: clock.now())
            guard case .retry(let delay) = last else { break }
            clock.advance(by: delay)
        }
        accounting.settle(now: clock.now())
        accounting.finish(now: clock.now())
        return (attempts, last)
    }

    func snapshot(_ breakers: BreakerRegistry) throws -> BreakerSnapshot {
        try #require(breakers.snapshot(upstream: "app", now: clock.now()))
    }

    @Test func aRequestThatFailedThreeAttemptsIsOneFailure() throws {
        // Three failures in a row open this breaker: counted per attempt, the first request would.
        let breakers = BreakerRegistry(configs: ["app": F.config(consecutive: 3)])
        let budget = RetryBudget(percent: 100)
        let first = request([503, 503, 503], breakers: breakers, budget: budget)
        #expect(first.attempts == 3 && first.last == .refused(.policy(.attemptsExhausted)))
        var s = try snapshot(breakers)
        #expect(s.state == "closed" && s.consecutiveFailures == 1 && s.windowFailures == 1)
        request([503, 503, 503], breakers: breakers, budget: budget)
        s = try snapshot(breakers)
        #expect(s.state == "closed" && s.consecutiveFailures == 2 && s.windowFailures == 2)
        request([503, 503, 503], breakers: breakers, budget: budget)
        #expect(try snapshot(breakers).state == "open", "the third failed client request opens it")
    }

    @Test func aRetryThatSucceedsIsOneSuccess() throws {
        let breakers = BreakerRegistry(configs: ["app": F.config(consecutive: 2)])
        let r = request([503, 503, 200], breakers: breakers, budget: RetryBudget(percent: 100))
        #expect(r.attempts == 3)
        let s = try snapshot(breakers)
        #expect(s.state == "closed" && s.consecutiveFailures == 0 && s.windowSuccesses == 1 && s.windowFailures == 0)
    }

    @Test func aRetriedRequestIsChargedOnceInTheRetryBudget() throws {
        // 10 requests earn 10% = one retrying request; the minimum of concurrent retries is off.
        let budget = RetryBudget(percent: 10, minConcurrent: 0)
        let breakers = BreakerRegistry(configs: ["app": F.config(consecutive: 100)])
        for _ in 0..<9 { request([200], breakers: breakers, budget: budget) }
        let retried = request([503, 503, 200], breakers: breakers, budget: budget)
        #expect(retried.attempts == 3, "both retries of one request fit its one charge")
        #expect(budget.activeRetries == 0, "the slot is given back when the request ends")
        let next = request([503, 200], breakers: breakers, budget: budget)
        #expect(next.attempts == 1 && next.last == .refused(.budgetExhausted), "the budget's one charge is spent")
    }

    @Test func anSDKRetryIsNotRetriedAgain() throws {
        let breakers = BreakerRegistry(configs: ["app": F.config(consecutive: 100)])
        let budget = RetryBudget(percent: 100)
        // The SDK's first try (counter 0) gets Rampart's retries; its retries (1, 2) one attempt each.
        #expect(request([503, 503, 503], breakers: breakers, budget: budget, sdkRetryCount: 0).attempts == 3)
        for count in [1, 2] {
            let r = request([503, 503, 503], breakers: breakers, budget: budget, sdkRetryCount: count)
            #expect(r.attempts == 1 && r.last == .refused(.sdkRetrying))
        }
        // Even for a POST the route allows: the SDK's counter wins.
        var posting = retry
        posting.methods.append("POST")
        var accounting = RequestAccounting(breakers: breakers, breakerName: "app", budget: budget)
        _ = accounting.admit(now: clock.now())
        accounting.attemptEnded(.failure)
        let failed = FailedAttempt(method: "POST", outcome: .status(529), attemptsSoFar: 1, remainingTotal: 100)
        posting.on.append("529")
        #expect(accounting.retry(after: failed, config: posting, sdkRetryCount: 1, random: 0.5, now: clock.now()) == .refused(.sdkRetrying))
        #expect(accounting.retry(after: failed, config: posting, sdkRetryCount: 0, random: 0.5, now: clock.now()) == .retry(after: 1))
        accounting.finish(now: clock.now())
        let s = try snapshot(breakers)
        #expect(s.windowFailures == 4, "three SDK tries and one more request: four failures, not six")
    }

    @Test(arguments: [("0", 0), ("1", 1), ("2", 2), (" 3 ", 3), ("-1", 0), ("two", 0), ("", 0)])
    func sdkRetryCounterIsReadFromItsHeader(value: String, count: Int) {
        #expect(RequestAccounting.sdkRetryCount(value) == count)
    }

    @Test func noSDKHeaderMeansNoSDKRetry() {
        #expect(RequestAccounting.sdkRetryCount(nil) == 0)
        #expect(RequestAccounting.sdkRetryHeader == "x-stainless-retry-count")
    }

    @Test func aBreakerThatOpenedMeanwhileStopsTheRetry() throws {
        let breakers = BreakerRegistry(configs: ["app": F.config()])
        var accounting = RequestAccounting(breakers: breakers, breakerName: "app", budget: RetryBudget(percent: 100))
        #expect(accounting.admit(now: clock.now()) == .allowed)
        accounting.attemptEnded(.failure)
        breakers.forceOpen(upstream: "app", now: clock.now())
        let failed = FailedAttempt(method: "GET", outcome: .status(503), attemptsSoFar: 1, remainingTotal: 100)
        #expect(accounting.retry(after: failed, config: retry, sdkRetryCount: 0, random: 0.5, now: clock.now()) == .refused(.breakerNotClosed))
        accounting.finish(now: clock.now())
    }

    @Test func aProbeIsOneAttemptAndItsFailureReopens() throws {
        var breakers = BreakerRegistry(configs: ["app": F.config(consecutive: 1, cooldown: 30)])
        request([503], breakers: breakers, budget: RetryBudget(percent: 100))
        #expect(try snapshot(breakers).state == "open")
        clock.advance(by: 30)
        let probe = request([503, 200], breakers: breakers, budget: RetryBudget(percent: 100))
        #expect(probe.attempts == 1 && probe.last == .refused(.breakerNotClosed))
        var s = try snapshot(breakers)
        #expect(s.state == "open" && s.probesInFlight == 0, "the failed probe re-opened it and left no slot taken")
        // With two probe slots, a probe still takes only its own (the retry check does not admit).
        breakers = BreakerRegistry(configs: ["app": F.config(consecutive: 1, cooldown: 30, probes: 2)])
        request([503], breakers: breakers, budget: RetryBudget(percent: 100))
        clock.advance(by: 30)
        var accounting = RequestAccounting(breakers: breakers, breakerName: "app", budget: RetryBudget(percent: 100))
        #expect(accounting.admit(now: clock.now()) == .probe)
        accounting.attemptEnded(.failure)
        let failed = FailedAttempt(method: "GET", outcome: .status(503), attemptsSoFar: 1, remainingTotal: 100)
        #expect(accounting.retry(after: failed, config: retry, sdkRetryCount: 0, random: 0.5, now: clock.now()) == .refused(.breakerNotClosed))
        s = try snapshot(breakers)
        #expect(s.state == "half_open" && s.probesInFlight == 1)
        accounting.finish(now: clock.now())
        #expect(try snapshot(breakers).state == "open")
    }

    @Test func aClientLeavingBetweenAttemptsStillCountsItsFailure() throws {
        let breakers = BreakerRegistry(configs: ["app": F.config()])
        let budget = RetryBudget(percent: 100)
        var accounting = RequestAccounting(breakers: breakers, breakerName: "app", budget: budget)
        _ = accounting.admit(now: clock.now())
        accounting.attemptEnded(.failure)
        let failed = FailedAttempt(method: "GET", outcome: .status(503), attemptsSoFar: 1, remainingTotal: 100)
        #expect(accounting.retry(after: failed, config: retry, sdkRetryCount: 0, random: 0.5, now: clock.now()) == .retry(after: 1))
        #expect(budget.activeRetries == 1)
        accounting.finish(now: clock.now())   // the client hung up during the backoff
        #expect(try snapshot(breakers).windowFailures == 1)
        #expect(budget.activeRetries == 0)
        // A request that ends with no outcome at all (cancelled mid-attempt) tells the breaker nothing.
        var cancelled = RequestAccounting(breakers: breakers, breakerName: "app", budget: budget)
        _ = cancelled.admit(now: clock.now())
        cancelled.finish(now: clock.now())
        let s = try snapshot(breakers)
        #expect(s.windowFailures == 1 && s.windowSuccesses == 0)
    }
}

/// Every upstream has a breaker: its own block, else loose defaults that only a plainly dead
/// upstream trips, so ops can always force it and healthy traffic never sees it.
@Suite struct UnconfiguredBreakerTests {
    typealias F = BreakerFixture

    @Test func everyUpstreamGetsABreaker() throws {
        let config = try ConfigFixture.load(#"""
            {"upstreams": {"app": {"url": "http://127.0.0.1:3000"},
                           "llm": {"url": "http://127.0.0.1:4000", "circuit_breaker": {"consecutive_failures": 3}}},
             "routes": [{"name": "chat", "upstream": "llm", "match": {"path": "/chat"}, "circuit_breaker": {"consecutive_failures": 2}},
                        {"name": "default", "upstream": "app", "match": {"path_prefix": "/"}}]}
            """#)
        #expect(config.upstreams["app"]?.circuitBreaker == nil, "the config model still says none was written")
        let breakers = GatewayState.breakerConfigs(config)
        #expect(breakers.keys.sorted() == ["app", "llm", "llm/chat"])
        #expect(breakers["app"] == .unconfigured)
        #expect(breakers["llm"]?.consecutiveFailures == 3 && breakers["llm/chat"]?.consecutiveFailures == 2)
        let registry = BreakerRegistry(configs: breakers)
        #expect(registry.forceOpen(upstream: "app", now: F.t0), "ops can force an upstream without a block")
        #expect(registry.admit(upstream: "app", now: F.t0 + 1) == .rejected(retryAfter: 30))
        #expect(registry.forceClose(upstream: "app"))
        #expect(registry.admit(upstream: "app", now: F.t0 + 1) == .allowed)
    }

    @Test func theDefaultsAre20InARowOrHalfOfAHundredAMinuteWith30sCooldown() {
        let d = CircuitBreakerConfig.unconfigured
        #expect(d.consecutiveFailures == 20 && d.failureRate == 0.5 && d.minRequests == 100)
        #expect(d.window == .seconds(60) && d.cooldown == .seconds(30) && d.halfOpenProbes == 1)
    }

    @Test func onlyAPlainlyFailingUpstreamTripsTheDefaults() {
        // An endpoint failing 19 times in a row, then a success: still closed.
        var endpoint = CircuitBreaker(config: .unconfigured)
        for _ in 0..<19 { F.run(&endpoint, .failure, now: F.t0) }
        F.run(&endpoint, .success, now: F.t0)
        #expect(endpoint.state == .closed)
        // Heavy traffic with 40% failures (more than any healthy upstream has) stays closed.
        var busy = CircuitBreaker(config: .unconfigured)
        for i in 0..<500 { F.run(&busy, i % 5 < 2 ? .failure : .success, now: F.t0 + Double(i) * 0.1) }
        #expect(busy.state == .closed)
        // 20 failures in a row open it, for 30 s; so does half of 100 requests within the minute.
        var dead = CircuitBreaker(config: .unconfigured)
        for _ in 0..<20 { F.run(&dead, .failure, now: F.t0) }
        #expect(dead.state == .open && dead.admit(now: F.t0) == .rejected(retryAfter: 30))
        var flaky = CircuitBreaker(config: .unconfigured)
        for i in 0..<99 { F.run(&flaky, i % 2 == 1 ? .failure : .success, now: F.t0 + Double(i) * 0.1) }
        #expect(flaky.state == .closed, "49 failures of 99: not yet")
        F.run(&flaky, .failure, now: F.t0 + 10)
        #expect(flaky.state == .open, "50 of 100")
    }
}
