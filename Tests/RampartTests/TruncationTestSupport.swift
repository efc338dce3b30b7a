import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
@testable import Rampart

/// Helpers shared by the truncation tests (namespaced so other test files can't collide).
/// With one character per token, a message's tokens are simply its text length.
enum TruncationFixture {
    static func truncator(_ format: TruncateConfig.Format = .openai, budget: Int, charsPerToken: Double = 1, imageTokens: Int = 100) -> ChatTruncator {
        var config = TruncateConfig(format: format, budgetTokens: budget)
        config.charsPerToken = charsPerToken
        config.imageTokens = imageTokens
        return ChatTruncator(config)
    }

    static func run(_ body: String, _ format: TruncateConfig.Format = .openai, budget: Int, charsPerToken: Double = 1) -> Result<TruncationResult, TruncationError> {
        truncator(format, budget: budget, charsPerToken: charsPerToken).truncate(Array(body.utf8))
    }

    /// The error a body is refused with; nil when it is accepted.
    static func error(_ body: String, _ format: TruncateConfig.Format = .openai, budget: Int) -> TruncationError? {
        guard case .failure(let e) = run(body, format, budget: budget) else { return nil }
        return e
    }

    /// The tokens a body is estimated at (with a budget large enough to drop nothing).
    static func tokens(_ body: String, _ format: TruncateConfig.Format = .openai, charsPerToken: Double = 1) -> Int? {
        guard case .success(let r) = run(body, format, budget: 1_000_000, charsPerToken: charsPerToken) else { return nil }
        return r.tokensBefore
    }

    static func msg(_ role: String, _ content: String) -> String { #"{"role":"\#(role)","content":"\#(content)"}"# }
    static func user(_ text: String) -> String { msg("user", text) }
    static func assistant(_ text: String) -> String { msg("assistant", text) }
    static func blocks(_ role: String, _ blocks: String...) -> String { #"{"role":"\#(role)","content":[\#(blocks.joined(separator: ","))]}"# }
    static func text(_ t: String) -> String { #"{"type":"text","text":"\#(t)"}"# }
    static let image = #"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"}}"#

    /// Anthropic tool call: `input` counts its JSON length, {"q":"x"} = 9.
    static let toolUse = blocks("assistant", #"{"type":"tool_use","id":"t1","name":"search","input":{"q":"x"}}"#)
    static func toolResult(_ text: String) -> String {
        blocks("user", #"{"type":"tool_result","tool_use_id":"t1","content":"\#(text)"}"#)
    }
    /// OpenAI tool call: the function name and arguments count, "f" + "{}" = 3.
    static let toolCalls = #"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}"#
    static func tool(_ text: String) -> String { #"{"role":"tool","tool_call_id":"c1","content":"\#(text)"}"# }

    static func body(_ messages: [String], system: String? = nil) -> String {
        let head = system.map { #"{"system":\#($0),"messages":["# } ?? #"{"model":"m","messages":["#
        return head + messages.joined(separator: ",") + #"],"max_tokens":10}"#
    }
}
