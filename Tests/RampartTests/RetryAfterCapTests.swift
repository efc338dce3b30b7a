import RampartHTTP
import Testing
@testable import RampartProxy

/// SPEC §11.3: a long wait says `x-should-retry: false`; a budget's wait fits its window.
@Suite struct RetryAfterCapTests {
    @Test(arguments: [(429, 3600, "false"), (503, 61, "false"), (429, 60, nil), (503, 1, nil), (413, 3600, nil)] as [(Int, Int, String?)])
    func longWaitsAskClientsNotToRetry(status: Int, retryAfter: Int, shouldRetry: String?) {
        let error = GatewayError(status: status, code: "X", message: "m", retryAfterSeconds: retryAfter)
        let (head, _) = LocalReply.error(error, requestID: "r", headersConfig: nil, tls: false, retryAfterCap: 60)
        #expect(head.headers["Retry-After"] == String(retryAfter))
        #expect(head.headers["x-should-retry"] == shouldRetry)
    }

    @Test func aBudgetsWaitNeverExceedsItsWindow() {
        #expect(BudgetPolicy.clamp(3657, to: 3600) == 3600)
        #expect(BudgetPolicy.clamp(120, to: 3600) == 120)
        #expect(BudgetPolicy.clamp(5, to: 0.5) == 1)
    }
}
