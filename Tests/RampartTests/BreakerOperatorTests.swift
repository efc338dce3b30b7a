import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Operator overrides (`POST /admin/breakers/{upstream}/open|close|reset`) and window expiry.
@Suite struct BreakerOperatorTests {
    typealias F = BreakerFixture
    let t0 = F.t0

    @Test func forcedOpenStaysOpenPastTheCooldown() {
        var b = CircuitBreaker(config: F.config())
        #expect(b.forceOpen(now: t0) == .init(from: .closed, to: .open, reason: .forcedOpen))
        #expect(b.admit(now: t0 + 10_000) == .rejected(retryAfter: 60))
        #expect(b.advance(now: t0 + 10_000) == nil)
        let s = b.snapshot(now: t0 + 10_000)
        #expect(s.state == "open" && s.forced && s.openedAt == t0 && s.nextProbeAt == nil)
    }

    @Test func forceOpenOfAnOpenBreakerPinsItWithoutATransition() {
        var b = F.opened()
        #expect(b.forceOpen(now: t0 + 5) == nil)
        #expect(b.openedAt == t0)
        #expect(b.admit(now: t0 + 120).isAdmitted == false)
    }

    @Test func forceOpenDuringHalfOpenDropsTheProbes() {
        var b = F.opened()
        #expect(b.admit(now: t0 + 60) == .probe)
        #expect(b.forceOpen(now: t0 + 61)?.from == .halfOpen)
        #expect(b.record(.success, probe: true, now: t0 + 62) == nil)
        #expect(b.state == .open)
    }

    @Test func forceCloseClosesAndPinsClosed() {
        var b = F.opened()
        #expect(b.forceClose() == .init(from: .open, to: .closed, reason: .forcedClose))
        #expect(b.admit(now: t0 + 1) == .allowed)
        for _ in 0..<50 { #expect(F.run(&b, .failure, now: t0 + 2) == nil) }
        let s = b.snapshot(now: t0 + 2)
        #expect(s.state == "closed" && s.forced && s.consecutiveFailures == 50 && s.windowFailures == 50)
    }

    @Test func forceCloseOverridesForceOpen() {
        var b = CircuitBreaker(config: F.config())
        b.forceOpen(now: t0)
        #expect(b.forceClose()?.to == .closed)
        #expect(b.admit(now: t0) == .allowed)
    }

    @Test func resetReturnsToAutomaticWithFreshCounts() {
        var b = CircuitBreaker(config: F.config())
        b.forceClose()
        for _ in 0..<7 { F.run(&b, .failure, now: t0) }
        #expect(b.reset() == nil)                 // already closed: no state change
        let s = b.snapshot(now: t0)
        #expect(!s.forced && s.consecutiveFailures == 0 && s.windowFailures == 0)
        for _ in 0..<5 { F.run(&b, .failure, now: t0 + 1) }
        #expect(b.state == .open)                 // automatic again
        #expect(b.reset() == .init(from: .open, to: .closed, reason: .reset))
        b.forceOpen(now: t0 + 2)
        #expect(b.reset()?.reason == .reset)
        #expect(b.admit(now: t0 + 2) == .allowed)
    }

    @Test func oldFailuresLeaveTheWindow() {
        // 60 s window in ten 6 s buckets.
        var b = CircuitBreaker(config: F.config(consecutive: 100, rate: 0.5, minRequests: 10, window: 60))
        for i in 0..<9 { F.run(&b, .failure, now: t0 + Double(i) * 0.1) }
        #expect(b.snapshot(now: t0 + 1).windowFailures == 9)
        // Long after, the nine failures have expired: a new burst starts from zero.
        #expect(b.snapshot(now: t0 + 61).windowFailures == 0)
        for i in 0..<9 { F.run(&b, .success, now: t0 + 61 + Double(i)) }
        #expect(F.run(&b, .failure, now: t0 + 70) == nil)   // 1/10 failures
        #expect(b.state == .closed)
    }

    @Test func failuresSpreadAcrossTheWindowStillCount() {
        var b = CircuitBreaker(config: F.config(consecutive: 100, rate: 0.5, minRequests: 10, window: 60))
        for i in 0..<9 { F.run(&b, .failure, now: t0 + Double(i) * 6) }   // 0 … 48 s
        #expect(F.run(&b, .failure, now: t0 + 53)?.reason == .failureRate)
    }

    @Test func windowExpiryIsBucketGranular() {
        var counts = RollingCounts(window: 60)
        #expect(counts.bucketWidth == 6)
        let start = 1_700_000_004.0                // 1_700_000_004 / 6 lies exactly on a bucket edge
        counts.add(second: 3, now: start)
        #expect(counts.totals(now: start + 59.9).second == 3)
        #expect(counts.totals(now: start + 60).second == 0)
        counts.add(first: 1, now: start + 60)        // reuses the expired bucket's slot
        #expect(counts.totals(now: start + 60) == (first: 1, second: 0))
    }

    @Test func snapshotStateNames() {
        #expect(CircuitBreaker.State.allCases.map(\.rawValue) == ["closed", "open", "half_open"])
        var b = CircuitBreaker(config: F.config())
        F.run(&b, .success, now: t0); F.run(&b, .failure, now: t0)
        let s = b.snapshot(now: t0)
        #expect(s.state == "closed" && s.windowSuccesses == 1 && s.windowFailures == 1 && s.consecutiveFailures == 1)
        #expect(!s.forced && s.openedAt == nil)
    }
}
