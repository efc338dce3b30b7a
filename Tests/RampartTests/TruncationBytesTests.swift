import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// What truncation must not touch: every byte outside the dropped messages, and the whole body
/// when nothing is dropped; and what it refuses (SPEC §8.1: 400 for bad JSON, 413 when too large).
@Suite struct TruncationBytesTests {
    typealias F = TruncationFixture

    @Test func everythingElseIsForwardedByteForByte() throws {
        let head = "{ \"z\" : 1.50e3,\n  \"model\":\"caf\\u00e9 \u{1F600}\", \"n\": [-0.0, 12345678901234567890, true, null],\n  \"messages\" :  [\n"
        let tail = "\n ] ,\t\"a\": {\"b\": \"\\ud83d\\ude00\", \"c\": 1E-7}, \"stream\":false }\r\n"
        let body = head + [F.user("aaaa"), F.assistant("bb"), F.user("c"), F.assistant("d")].joined(separator: ",\n   ") + tail
        let result = try F.run(body, budget: 3).get()
        // Kept messages are joined the way the client joined them.
        #expect(String(decoding: result.body, as: UTF8.self) == head + F.user("c") + ",\n   " + F.assistant("d") + tail)
    }

    @Test func nothingDroppedReturnsTheOriginalBytes() throws {
        let body = "{\"messages\": [ \(F.user("hi")) ,\n \(F.assistant("yo")) ], \"t\": 0.10, \"s\": \"\\u00e9\"}"
        let result = try F.run(body, budget: 4).get()
        #expect(result.body == Array(body.utf8))
        #expect((result.dropped, result.tokensBefore, result.tokensAfter) == (0, 4, 4))
        let empty = try F.run(#"{"messages":[]}"#, budget: 1).get()
        #expect((empty.body, empty.dropped) == (Array(#"{"messages":[]}"#.utf8), 0))
    }

    @Test func newestUnitAloneOverBudgetIsTooLarge() {
        #expect(F.error(F.body([F.user("a"), F.user("abcdef")]), budget: 5) == .contextTooLarge(tokens: 6, budget: 5))
        // The OpenAI system messages are counted with it.
        #expect(F.error(F.body([F.msg("system", "ss"), F.user("abcd")]), budget: 5) == .contextTooLarge(tokens: 6, budget: 5))
        #expect(F.error(F.body([F.user("a")], system: #""abcdef""#), .anthropic, budget: 5) == .contextTooLarge(tokens: 7, budget: 5))
        // A tool pair is one unit: 9 + 5.
        #expect(F.error(F.body([F.user("q"), F.toolUse, F.toolResult("sunny")]), .anthropic, budget: 13)
                == .contextTooLarge(tokens: 14, budget: 13))
        // The newest unit fits but no user turn can lead: the smallest valid request is reported.
        #expect(F.error(F.body([F.user("weather?"), F.toolUse, F.toolResult("sunny")]), .anthropic, budget: 21)
                == .contextTooLarge(tokens: 22, budget: 21))
    }

    @Test(arguments: [
        "", " ", "{", "[", #"{"messages":[}"#, #"{"messages":[],}"#, #"{"messages":[]} x"#, #"{"messages":[]}{}"#,
        #"{"messages":[],"n":01}"#, #"{"messages":[],"n":1.}"#, #"{"messages":[],"n":-}"#, #"{"messages":[],"n":1e}"#,
        #"{"messages":[],"n":+1}"#, #"{"messages":[],"n":NaN}"#, #"{"messages":[],"b":tru}"#, #"{'messages':[]}"#,
        #"{"messages":[{"role":"user","content":"\x"}]}"#, #"{"messages":[{"role":"user","content":"\u12G4"}]}"#,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a\tb\"}]}", #"{"messages":[{"role":"user","content":"abc}]}"#,
        #"{"messages":[{"role":"user" "content":"a"}]}"#, #"{"messages":[{"role":"user","content":"a"}]"#,
        #"{messages:[]}"#, #"{"messages":[] "x":1}"#,
    ]) func malformedJSONIsRefused(_ body: String) {
        guard case .failure(.notJSON) = F.run(body, budget: 10) else { Issue.record("accepted \(body)"); return }
    }

    @Test func invalidUTF8IsRefused() {
        for bad: [UInt8] in [[0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82]] {
            let body = Array(#"{"messages":[],"s":""#.utf8) + bad + Array(#""}"#.utf8)
            guard case .failure(.notJSON) = F.truncator(budget: 10).truncate(body) else { Issue.record("accepted \(bad)"); continue }
        }
    }

    @Test(arguments: [
        (#"{"messages":{}}"#, TruncateConfig.Format.openai), (#"{"messages":"hi"}"#, .openai), (#"{"messages":null}"#, .anthropic),
        ("{}", .openai), ("[]", .anthropic), (#"{"data":{"messages":[]}}"#, .pointer("/data/msgs")),
        (#"{"data":[[]]}"#, .pointer("/data/1")), (#"{"data":[[]]}"#, .pointer("/data/01")),
    ]) func messagesMustBeAnArray(_ body: String, _ format: TruncateConfig.Format) {
        guard case .failure(.messagesNotArray) = F.run(body, format, budget: 10) else { Issue.record("accepted \(body)"); return }
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        func nested(_ n: Int) -> String { String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        // The root object and the messages array are two levels, the message object a third.
        let inContent = { (n: Int) in #"{"messages":[{"role":"user","content":"a","x":\#(nested(n))}]}"# }
        #expect(F.error(inContent(125), budget: 10) == nil)
        #expect(F.error(inContent(126), budget: 10) == .tooDeep)
        #expect(F.error(#"{"meta":\#(nested(10_000)),"messages":[]}"#, budget: 10) == .tooDeep)
        let blocks = String(repeating: #"[{"type":"tool_result","content":"#, count: 100) + "1" + String(repeating: "}]", count: 100)
        #expect(F.error(#"{"messages":[{"role":"user","content":\#(blocks)}]}"#, budget: 10) == .tooDeep)
    }
}
