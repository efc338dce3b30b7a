import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Which messages survive (SPEC §8.1): the system prompt, then the newest messages that fit, in
/// order, tool pairs whole, starting with a user turn. Each case gives the kept messages exactly,
/// so the splice is checked byte for byte too.
@Suite struct TruncationKeepTests {
    typealias F = TruncationFixture

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var format: TruncateConfig.Format = .openai
        var system: String? = nil
        var messages: [String]
        var budget: Int
        var kept: [String]
        var tokens: (before: Int, after: Int)
    }

    static let cases: [Case] = [
        Case(testDescription: "newest that fit, already starting with a user",
             messages: [F.user("a"), F.assistant("bb"), F.user("ccc"), F.assistant("dddd"), F.user("eeeee")], budget: 13,
             kept: [F.user("ccc"), F.assistant("dddd"), F.user("eeeee")], tokens: (15, 12)),
        Case(testDescription: "a leading assistant is dropped after truncation",
             messages: [F.user("aaaa"), F.assistant("bb"), F.user("cccc")], budget: 7,
             kept: [F.user("cccc")], tokens: (10, 4)),
        Case(testDescription: "OpenAI system and developer are kept in place and counted",
             messages: [F.msg("developer", "dev"), F.user("aaaa"), F.user("bb"), F.msg("system", "s"), F.user("c")], budget: 7,
             kept: [F.msg("developer", "dev"), F.user("bb"), F.msg("system", "s"), F.user("c")], tokens: (11, 7)),
        Case(testDescription: "Anthropic system string counts against the budget",
             format: .anthropic, system: #""sys""#,
             messages: [F.user("aaaa"), F.assistant("bb"), F.user("cc"), F.assistant("d"), F.user("e")], budget: 7,
             kept: [F.user("cc"), F.assistant("d"), F.user("e")], tokens: (13, 7)),
        Case(testDescription: "Anthropic system block array counts its text",
             format: .anthropic, system: #"[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}]"#,
             messages: [F.user("aaaa"), F.assistant("bb"), F.user("cc"), F.assistant("d"), F.user("e")], budget: 8,
             kept: [F.user("cc"), F.assistant("d"), F.user("e")], tokens: (13, 7)),
        Case(testDescription: "Anthropic role system in the array is an ordinary message",
             format: .anthropic, messages: [F.msg("system", "sys"), F.user("aa"), F.assistant("b"), F.user("c")], budget: 4,
             kept: [F.user("aa"), F.assistant("b"), F.user("c")], tokens: (7, 4)),
        Case(testDescription: "tool_use and tool_result kept together",
             format: .anthropic,
             messages: [F.user("hello"), F.assistant("hi"), F.user("weather?"), F.toolUse, F.toolResult("sunny")], budget: 22,
             kept: [F.user("weather?"), F.toolUse, F.toolResult("sunny")], tokens: (29, 22)),
        Case(testDescription: "tool_use and tool_result dropped together, never an orphan result",
             format: .anthropic,
             messages: [F.user("weather?"), F.toolUse, F.toolResult("sunny"), F.assistant("ok"), F.user("thanks")], budget: 15,
             kept: [F.user("thanks")], tokens: (30, 6)),
        Case(testDescription: "tool_calls and its tool messages kept together",
             messages: [F.msg("system", "s"), F.user("hi"), F.assistant("yo"), F.user("weather?"), F.toolCalls, F.tool("sunny"), F.tool("rainy")],
             budget: 22,
             kept: [F.msg("system", "s"), F.user("weather?"), F.toolCalls, F.tool("sunny"), F.tool("rainy")], tokens: (26, 22)),
        Case(testDescription: "tool_calls and its tool messages dropped together",
             messages: [F.user("weather?"), F.toolCalls, F.tool("sunny"), F.tool("rainy"), F.user("thanks")], budget: 19,
             kept: [F.user("thanks")], tokens: (27, 6)),
        Case(testDescription: "text inside content blocks is counted",
             messages: [F.blocks("user", F.text("abcd"), F.text("ef")), F.assistant("x"), F.user("yz")], budget: 5,
             kept: [F.user("yz")], tokens: (9, 2)),
        Case(testDescription: "images count a fixed cost",
             messages: [F.blocks("user", F.image, F.text("look")), F.assistant("ok"), F.blocks("user", F.image)], budget: 103,
             kept: [F.blocks("user", F.image)], tokens: (206, 100)),
    ]

    @Test(arguments: cases) func keepsTheNewestThatFit(_ c: Case) throws {
        let body = F.body(c.messages, system: c.system)
        let result = try F.run(body, c.format, budget: c.budget).get()
        #expect(String(decoding: result.body, as: UTF8.self) == F.body(c.kept, system: c.system))
        #expect(result.dropped == c.messages.count - c.kept.count)
        #expect(result.tokensBefore == c.tokens.before)
        #expect(result.tokensAfter == c.tokens.after)
    }

    @Test func pointerFormatFindsNestedArrays() throws {
        let messages = [F.msg("system", "s"), F.user("aaaa"), F.assistant("b"), F.user("c")]
        let kept = [F.msg("system", "s"), F.user("c")]
        for (pointer, wrap) in [
            ("/data/chat/history", { (m: String) in #"{"id":7,"data":{"x":[1],"chat":{"history":\#(m)}}}"# }),
            ("/requests/1/msgs", { (m: String) in #"{"requests":[{"msgs":[]},{"msgs":\#(m)}]}"# }),
            ("/a~1b/m~0n", { (m: String) in #"{"a/b":{"m~n":\#(m)}}"# }),
            ("/history", { (m: String) in #"{"\u0068istory":\#(m)}"# }),
            ("", { (m: String) in m }),
        ] {
            let body = wrap("[" + messages.joined(separator: ",") + "]")
            let result = try F.run(body, .pointer(pointer), budget: 3).get()
            #expect(String(decoding: result.body, as: UTF8.self) == wrap("[" + kept.joined(separator: ",") + "]"), "\(pointer)")
        }
    }

    @Test func duplicatedMessagesKeyTruncatesTheLastOne() throws {
        let body = #"{"messages":[{"role":"user","content":"zzzzzzzzzz"}],"messages":[\#(F.user("aaaa")),\#(F.user("b"))]}"#
        let result = try F.run(body, budget: 2).get()
        #expect(String(decoding: result.body, as: UTF8.self) == #"{"messages":[{"role":"user","content":"zzzzzzzzzz"}],"messages":[\#(F.user("b"))]}"#)
    }

    @Test func tenThousandMessagesKeepTheNewestHundred() throws {
        let messages = (0..<10_000).map { $0 % 2 == 0 ? F.user(String(repeating: "u", count: 10)) : F.assistant(String(repeating: "a", count: 10)) }
        let result = try F.run(F.body(messages), budget: 1_005).get()
        #expect(result.dropped == 9_900)
        #expect((result.tokensBefore, result.tokensAfter) == (100_000, 1_000))
        #expect(String(decoding: result.body, as: UTF8.self) == F.body(Array(messages.suffix(100))))
    }
}
