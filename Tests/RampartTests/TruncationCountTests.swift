import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// Token estimates: decoded characters / chars_per_token, rounded up per message; media at a fixed cost.
@Suite struct TruncationCountTests {
    typealias F = TruncationFixture

    @Test(arguments: [
        (F.user("héllo"), 5),                           // UTF-8 counts characters, not bytes
        (F.user(#"\u00e9t\u00e9"#), 3),                 // each \uXXXX is one character
        (F.user(#"\ud83d\ude00 😀"#), 3),               // a surrogate pair is one, as is the raw emoji
        (F.user(#"a\nb\"c\\"#), 6),
        (F.blocks("user", F.text("abcd"), F.text("ef")), 6),
        (F.blocks("user", F.image, F.text("hi")), 102),
        (F.blocks("user", #"{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}"#), 100),
        (F.blocks("user", #"{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}"#), 100),
        (F.blocks("user", #"{"type":"document","source":{"type":"text","media_type":"text/plain","data":"long"}}"#), 100),
        (F.blocks("assistant", #"{"type":"thinking","thinking":"hmm","signature":"xxxxxxxx"}"#, F.text("a")), 4),
        (F.toolUse, 9),                                 // the JSON length of {"q":"x"}
        (F.toolResult("res"), 3),
        (F.blocks("user", #"{"type":"tool_result","tool_use_id":"t1","content":[\#(F.text("ab")),\#(F.image)]}"#), 102),
        (F.toolCalls, 3),                               // name "f" + arguments "{}"
        (#"{"role":"assistant","function_call":{"name":"fn","arguments":"{\"a\":1}"}}"#, 9),
        (#"{"role":"user","content":null,"name":"ann","extra":{"text":"ignored"}}"#, 0),
    ]) func estimates(_ message: String, _ tokens: Int) {
        #expect(F.tokens(F.body([message])) == tokens)
    }

    @Test func charsPerTokenRoundsUpPerMessage() {
        #expect(F.tokens(F.body([F.user("abcde"), F.assistant("abc")]), charsPerToken: 4) == 3)
        #expect(F.tokens(F.body([F.user("abcdefgh")]), charsPerToken: 2.5) == 4)
        #expect(F.tokens(F.body([F.user("")]), charsPerToken: 4) == 0)
    }

    @Test func anthropicSystemIsCounted() {
        #expect(F.tokens(F.body([F.user("a")], system: #""abc""#), .anthropic) == 4)
        #expect(F.tokens(F.body([F.user("a")], system: #"[\#(F.text("ab")),\#(F.text("cd"))]"#), .anthropic) == 5)
        // OpenAI has no top-level system: there it is just another member, forwarded and not counted.
        #expect(F.tokens(F.body([F.user("a")], system: #""abc""#), .openai) == 1)
    }
}
