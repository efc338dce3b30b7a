import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
@testable import Rampart

/// Shared fixtures for the breaker tests: a realistic start time and a config builder whose defaults
/// match SPEC §3 (5 in a row, 50% of ≥10 over 60 s, 60 s cooldown, 1 probe).
enum BreakerFixture {
    static let t0 = 1_700_000_000.0

    static func config(consecutive: Int = 5, rate: Double = 0.5, minRequests: Int = 10,
                       window: Int64 = 60, cooldown: Int64 = 60, probes: Int = 1) -> CircuitBreakerConfig {
        var c = CircuitBreakerConfig()
        c.consecutiveFailures = consecutive
        c.failureRate = rate
        c.minRequests = minRequests
        c.window = .seconds(window)
        c.cooldown = .seconds(cooldown)
        c.halfOpenProbes = probes
        return c
    }

    /// Admits and records one request at `now`, returning the transition (nil if not admitted either).
    @discardableResult
    static func run(_ breaker: inout CircuitBreaker, _ outcome: CircuitBreaker.Outcome,
                    now: Double) -> CircuitBreaker.Transition? {
        let admission = breaker.admit(now: now)
        guard admission.isAdmitted else { return nil }
        return breaker.record(outcome, probe: admission == .probe, now: now)
    }

    /// A breaker tripped by consecutive failures at `t0`.
    static func opened(_ config: CircuitBreakerConfig = config()) -> CircuitBreaker {
        var b = CircuitBreaker(config: config)
        for _ in 0..<config.consecutiveFailures { run(&b, .failure, now: t0) }
        return b
    }
}
