import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Inputs the libFuzzer targets of the proxy's policies (Fuzz/, `make fuzz`) found, each kept here
/// with its exact bytes.
@Suite struct ProxyFuzzFindingsTests {
    typealias F = TruncationFixture

    /// truncation: a conversation over budget with no user turn at all was refused as "too large"
    /// with the newest message's count (1 token, under the budget of 3), since no valid request
    /// exists to report. The whole conversation's count is reported now: always above the budget.
    @Test func overBudgetWithoutAUserTurnReportsTheWholeCount() {
        let body = #"{"model":"m","messages":[{"role":"assistant","content":"orph\ud83d\ude00"},{"role":"assistant","content":"a"}],"max_tokens":10}"#
        #expect(F.error(body, .anthropic, budget: 3) == .contextTooLarge(tokens: 6, budget: 3))
        #expect(F.error(body, .openai, budget: 3) == .contextTooLarge(tokens: 6, budget: 3))
    }
}
