import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The retry budget: retries ≤ `budget_percent` of requests over 10 s, with 3 concurrent always allowed.
@Suite struct RetryBudgetTests {
    let t0 = 1_700_000_000.0

    @Test func percentOfManyRequests() {
        let budget = RetryBudget(percent: 20)
        for i in 0..<100 { budget.recordRequest(now: t0 + Double(i) * 0.01) }
        var granted = 0
        for _ in 0..<100 where budget.tryAcquireRetry(now: t0 + 1) { granted += 1 }
        #expect(granted == 20)            // 20% of 100, the minimum of 3 already inside it
        #expect(budget.activeRetries == 20)
        // Released slots do not refill the budget: it counts retries started in the window.
        for _ in 0..<20 { budget.releaseRetry() }
        #expect(budget.tryAcquireRetry(now: t0 + 2))      // …except the 3 concurrent minimum
        #expect(budget.tryAcquireRetry(now: t0 + 2))
        #expect(budget.tryAcquireRetry(now: t0 + 2))
        #expect(!budget.tryAcquireRetry(now: t0 + 2))
    }

    @Test func threeConcurrentRetriesAreAlwaysAllowed() {
        let budget = RetryBudget(percent: 20)
        #expect(budget.tryAcquireRetry(now: t0))   // no requests at all yet
        #expect(budget.tryAcquireRetry(now: t0))
        #expect(budget.tryAcquireRetry(now: t0))
        #expect(!budget.tryAcquireRetry(now: t0))
        budget.releaseRetry()
        #expect(budget.tryAcquireRetry(now: t0))
        #expect(!budget.tryAcquireRetry(now: t0))
    }

    @Test func zeroPercentStillAllowsTheMinimum() {
        let budget = RetryBudget(percent: 0)
        for _ in 0..<1000 { budget.recordRequest(now: t0) }
        #expect((0..<10).filter { _ in budget.tryAcquireRetry(now: t0) }.count == 3)
    }

    @Test func theWindowSlides() {
        let budget = RetryBudget(percent: 50, minConcurrent: 0)
        for _ in 0..<10 { budget.recordRequest(now: t0) }
        #expect((0..<10).filter { _ in budget.tryAcquireRetry(now: t0) }.count == 5)
        // 10 s later the old requests and retries have left; new traffic earns a new budget.
        #expect(!budget.tryAcquireRetry(now: t0 + 10))
        for _ in 0..<4 { budget.recordRequest(now: t0 + 10) }
        #expect((0..<10).filter { _ in budget.tryAcquireRetry(now: t0 + 10) }.count == 2)
    }

    @Test func releaseNeverGoesNegative() {
        let budget = RetryBudget(percent: 20)
        budget.releaseRetry()
        #expect(budget.activeRetries == 0)
    }

    @Test func stormOfConcurrentCallersStaysWithinBudget() async {
        let budget = RetryBudget(percent: 20)
        let t0 = self.t0
        let granted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    budget.recordRequest(now: t0)
                    return budget.tryAcquireRetry(now: t0) ? 1 : 0
                }
            }
            return await group.reduce(0, +)
        }
        // Requests and retries interleave, so up to 3 can be "early"; never more than 20% + 3.
        #expect(granted <= 40 + 3)
        #expect(granted >= 3)
    }
}
