import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Every automatic transition of the breaker, driven by an invented clock.
///
/// Outcome classification (connect errors, timeouts and 5xx are failures; 4xx are successes) is the
/// caller's job, so these tests speak only `.success` / `.failure`.
@Suite struct BreakerTransitionTests {
    typealias F = BreakerFixture
    let t0 = F.t0

    @Test func closedOpensOnConsecutiveFailures() {
        var b = CircuitBreaker(config: F.config(consecutive: 5, minRequests: 100))
        for i in 0..<4 { #expect(F.run(&b, .failure, now: t0 + Double(i)) == nil) }
        #expect(b.state == .closed)
        #expect(b.consecutiveFailures == 4)
        let t = F.run(&b, .failure, now: t0 + 4)
        #expect(t == .init(from: .closed, to: .open, reason: .consecutiveFailures))
        #expect(b.state == .open)
        #expect(b.openedAt == t0 + 4)
    }

    @Test func aSuccessResetsTheConsecutiveCount() {
        var b = CircuitBreaker(config: F.config(consecutive: 3, minRequests: 100))
        F.run(&b, .failure, now: t0); F.run(&b, .failure, now: t0)
        F.run(&b, .success, now: t0)
        #expect(b.consecutiveFailures == 0)
        F.run(&b, .failure, now: t0); F.run(&b, .failure, now: t0)
        #expect(b.state == .closed)
        #expect(F.run(&b, .failure, now: t0)?.reason == .consecutiveFailures)
    }

    @Test func failureRateOpensOnceMinRequestsIsReached() {
        // Alternating keeps the consecutive count at 1, so only the rate can trip it.
        var b = CircuitBreaker(config: F.config(consecutive: 100, rate: 0.5, minRequests: 10))
        for i in 0..<9 {
            #expect(F.run(&b, i.isMultiple(of: 2) ? .failure : .success, now: t0 + Double(i)) == nil)
        }
        // 9 results, 5 failures (55%): over the rate but under min_requests → still closed.
        #expect(b.state == .closed)
        #expect(b.snapshot(now: t0 + 9).windowFailures == 5)
        // 10th result: a success cannot trip it…
        #expect(F.run(&b, .success, now: t0 + 9) == nil)
        // …the next failure (6/11 ≥ 0.5) does.
        #expect(F.run(&b, .failure, now: t0 + 10) == .init(from: .closed, to: .open, reason: .failureRate))
    }

    @Test func failureRateBelowThresholdStaysClosed() {
        var b = CircuitBreaker(config: F.config(consecutive: 100, rate: 0.5, minRequests: 10))
        for i in 0..<30 {   // one failure in three: 33%
            F.run(&b, i % 3 == 0 ? .failure : .success, now: t0 + Double(i))
        }
        #expect(b.state == .closed)
    }

    @Test func failureRateWithMinRequestsOfOne() {
        var b = CircuitBreaker(config: F.config(consecutive: 100, rate: 0.5, minRequests: 1))
        #expect(F.run(&b, .failure, now: t0)?.reason == .failureRate)
    }

    @Test func openRejectsWithTheExactCooldownLeft() {
        var b = F.opened()   // opened at t0, cooldown 60
        #expect(b.admit(now: t0) == .rejected(retryAfter: 60))
        #expect(b.admit(now: t0 + 12.5) == .rejected(retryAfter: 47.5))
        #expect(b.admit(now: t0 + 59.75) == .rejected(retryAfter: 0.25))   // binary-exact at unix-time magnitude
        #expect(b.state == .open)
        #expect(b.snapshot(now: t0 + 1).nextProbeAt == t0 + 60)
    }

    @Test func retryAfterIsNeverNegativeWhenTheClockStepsBack() {
        var b = F.opened()
        guard case .rejected(let after) = b.admit(now: t0 - 100) else { Issue.record("not rejected"); return }
        #expect(after >= 0)
    }

    @Test func afterCooldownTheBreakerTurnsHalfOpen() {
        var b = F.opened()
        #expect(b.advance(now: t0 + 59) == nil)
        #expect(b.advance(now: t0 + 60) == .init(from: .open, to: .halfOpen, reason: .cooldownElapsed))
        #expect(b.state == .halfOpen)
        #expect(b.snapshot(now: t0 + 60).state == "half_open")
    }

    @Test func admitItselfMovesToHalfOpenAndHandsOutAProbe() {
        var b = F.opened()
        #expect(b.admit(now: t0 + 60) == .probe)
        #expect(b.state == .halfOpen)
        #expect(b.probesInFlight == 1)
    }

    @Test func halfOpenAdmitsOnlyTheConfiguredProbes() {
        var b = F.opened(F.config(probes: 2))
        #expect(b.admit(now: t0 + 61) == .probe)
        #expect(b.admit(now: t0 + 61) == .probe)
        #expect(b.admit(now: t0 + 61) == .rejected(retryAfter: 0))
        #expect(b.admit(now: t0 + 500) == .rejected(retryAfter: 0))
        b.releaseProbe()   // one probe ended without an outcome
        #expect(b.admit(now: t0 + 501) == .probe)
    }

    @Test func probeSuccessClosesWithFreshCounts() {
        var b = F.opened()
        #expect(b.admit(now: t0 + 60) == .probe)
        #expect(b.record(.success, probe: true, now: t0 + 61) == .init(from: .halfOpen, to: .closed, reason: .probeSucceeded))
        let s = b.snapshot(now: t0 + 61)
        #expect(s.state == "closed")
        #expect(s.consecutiveFailures == 0 && s.windowFailures == 0 && s.windowSuccesses == 0)
        #expect(s.openedAt == nil && s.nextProbeAt == nil && s.probesInFlight == 0)
        #expect(b.admit(now: t0 + 61) == .allowed)
        // The old failures are gone: it takes the full count again to open.
        for _ in 0..<4 { F.run(&b, .failure, now: t0 + 62) }
        #expect(b.state == .closed)
    }

    @Test func probeFailureReopensForANewCooldown() {
        var b = F.opened()
        #expect(b.admit(now: t0 + 70) == .probe)
        #expect(b.record(.failure, probe: true, now: t0 + 75) == .init(from: .halfOpen, to: .open, reason: .probeFailed))
        #expect(b.openedAt == t0 + 75)
        #expect(b.admit(now: t0 + 75) == .rejected(retryAfter: 60))
        #expect(b.admit(now: t0 + 134) == .rejected(retryAfter: 1))
        #expect(b.admit(now: t0 + 135) == .probe)
    }

    @Test func lateResultsDoNotChangeAnOpenBreaker() {
        var b = CircuitBreaker(config: F.config(consecutive: 2))
        #expect(b.admit(now: t0) == .allowed)   // in flight while the breaker opens
        F.run(&b, .failure, now: t0); F.run(&b, .failure, now: t0)
        #expect(b.record(.success, probe: false, now: t0 + 1) == nil)
        #expect(b.state == .open)
        // Nor does a non-probe result in half-open decide anything.
        #expect(b.admit(now: t0 + 60) == .probe)
        #expect(b.record(.success, probe: false, now: t0 + 60) == nil)
        #expect(b.state == .halfOpen)
    }

    @Test func secondProbeAfterTheFirstClosedCountsAsOrdinaryTraffic() {
        var b = F.opened(F.config(probes: 2))
        #expect(b.admit(now: t0 + 60) == .probe)
        #expect(b.admit(now: t0 + 60) == .probe)
        #expect(b.record(.success, probe: true, now: t0 + 61)?.to == .closed)
        #expect(b.record(.failure, probe: true, now: t0 + 61) == nil)
        #expect(b.state == .closed)
        #expect(b.consecutiveFailures == 1)
    }
}
