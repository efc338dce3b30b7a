import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The backoff formula: min(backoff·2^(n−1), max_backoff) · (1 + jitter·(2r−1)).
@Suite struct RetryScheduleTests {
    static func config(backoff: Duration = .seconds(1), max: Duration = .seconds(8), jitter: Double = 0.2) -> RetryConfig {
        var c = RetryConfig()
        c.backoff = backoff; c.maxBackoff = max; c.jitter = jitter
        return c
    }

    @Test func withoutJitterTheDelayDoubles() {
        let c = Self.config()
        #expect(RetrySchedule.delay(attempt: 1, config: c, random: 0.5) == 1)
        #expect(RetrySchedule.delay(attempt: 2, config: c, random: 0.5) == 2)
        #expect(RetrySchedule.delay(attempt: 3, config: c, random: 0.5) == 4)
        #expect(RetrySchedule.delay(attempt: 4, config: c, random: 0.5) == 8)
    }

    @Test(arguments: [(1, 1.0), (2, 2.0), (3, 4.0)])
    func defaultScheduleStaysWithinTwentyPercent(attempt: Int, nominal: Double) {
        let c = Self.config()
        for step in 0..<100 {
            let d = RetrySchedule.delay(attempt: attempt, config: c, random: Double(step) / 100)
            #expect(d >= nominal * 0.8 && d < nominal * 1.2)
        }
    }

    @Test func jitterExtremes() {
        let c = Self.config()
        #expect(RetrySchedule.delay(attempt: 1, config: c, random: 0) == 0.8)
        #expect(abs(RetrySchedule.delay(attempt: 1, config: c, random: 0.999) - 1.1996) < 1e-9)
        #expect(RetrySchedule.delay(attempt: 3, config: c, random: 0) == 3.2)
        #expect(abs(RetrySchedule.delay(attempt: 3, config: c, random: 0.999) - 4.7984) < 1e-9)
    }

    @Test func capAtMaxBackoffAppliesBeforeJitter() {
        let c = Self.config(max: .seconds(5))
        #expect(RetrySchedule.delay(attempt: 4, config: c, random: 0.5) == 5)
        #expect(RetrySchedule.delay(attempt: 9, config: c, random: 0.5) == 5)
        #expect(RetrySchedule.delay(attempt: 1_000_000, config: c, random: 0) == 4)
        #expect(RetrySchedule.delay(attempt: 1_000_000, config: c, random: 0.999) < 6)
    }

    @Test func subSecondBackoffAndNoJitter() {
        let c = Self.config(backoff: .milliseconds(250), max: .seconds(1), jitter: 0)
        #expect([1, 2, 3, 4].map { RetrySchedule.delay(attempt: $0, config: c, random: 0.9) } == [0.25, 0.5, 1, 1])
    }

    @Test func outOfRangeRandomIsClamped() {
        let c = Self.config()
        #expect(RetrySchedule.delay(attempt: 1, config: c, random: -3) == 0.8)
        #expect(RetrySchedule.delay(attempt: 1, config: c, random: 7) == 1.2)
    }
}
