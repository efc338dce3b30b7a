import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// Issue 6's speed target: truncating a 1 MB, 2,000-message body takes under 5 ms. Not a test of
/// correctness, so it only runs when asked (`bash bench/truncate.sh` sets RAMPART_BENCH=1 and builds
/// in release mode, where the figure means something).
@Suite struct TruncationBenchmark {
    /// A realistic history: plain turns, content blocks, escapes, non-ASCII text and tool pairs,
    /// each message about 500 bytes, so 2,000 of them make a megabyte.
    static func body(messages: Int = 2_000) -> [UInt8] {
        let words = "The quick brown fox jumps over the lazy dog; caf\\u00e9 na\u{00EF}ve \\\"quoted\\\" 😀 line\\nbreak. "
        let text = String(repeating: words, count: 5) + "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt."
        var parts: [String] = []
        for k in 0..<messages {
            switch k % 8 {
            case 1: parts.append(#"{"role":"assistant","content":[{"type":"text","text":"\#(text)"}]}"#)
            case 5: parts.append(#"{"role":"assistant","content":[{"type":"text","text":"\#(text.prefix(200))"},{"type":"tool_use","id":"t\#(k)","name":"search","input":{"q":"fox","n":1.5e3,"deep":{"a":[1,2,3]}}}]}"#)
            case 6: parts.append(#"{"role":"user","content":[{"type":"tool_result","tool_use_id":"t\#(k - 1)","content":"\#(text.prefix(300))"}]}"#)
            default: parts.append(#"{"role":\#(k % 2 == 0 ? "\"user\"" : "\"assistant\""),"content":"\#(text)"}"#)
            }
        }
        let json = #"{"model":"claude-x","max_tokens":1024,"system":"You are helpful.","messages":["#
            + parts.joined(separator: ",") + #"],"temperature":0.7,"metadata":{"user_id":"u1"}}"#
        return Array(json.utf8)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["RAMPART_BENCH"] == "1"))
    func truncateOneMegabyte() throws {
        let body = Self.body()
        let truncator = ChatTruncator(TruncateConfig(format: .anthropic, budgetTokens: 8_000))
        let first = try truncator.truncate(body).get()
        #expect(first.dropped > 0)
        let runs = 100
        let clock = ContinuousClock()
        var dropped = 0
        let elapsed = try clock.measure {
            for _ in 0..<runs { dropped &+= try truncator.truncate(body).get().dropped }
        }
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3
        let perCall = ms / Double(runs)
        print(String(format: "truncate: %d bytes, %d messages, dropped %d, tokens %d->%d: %.3f ms per call (%d runs)",
                     body.count, 2_000, first.dropped, first.tokensBefore, first.tokensAfter, perCall, runs))
        #expect(dropped == first.dropped * runs)
    }
}
