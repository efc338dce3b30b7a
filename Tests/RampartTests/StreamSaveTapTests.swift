import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Testing
@testable import Rampart

/// The tap reads the generated text per format, from any split of the stream, with any line ending.
@Suite struct StreamSaveTapTests {
    static let anthropic = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello, \"}}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"world \\u00e9\"}}\n\n"
        + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    static let openai = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
        + "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
        + "data: {\"choices\":[{\"delta\":{\"content\":\" there\"}}]}\n\n"
        + "data: [DONE]\n\n"

    static func run(_ format: StreamSaveConfig.Format, _ text: String, chunk: Int) -> StreamSaveTap {
        // As the proxy does: one parser over the stream, its events to the tap.
        var tap = StreamSaveTap(format: format)
        var parser = SSEParser()
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            var events: [SSEEvent] = []
            parser.feed(Array(bytes[i..<end])) { events.append($0) }
            for e in events { tap.take(e) }
            i = end
        }
        return tap
    }

    @Test(arguments: [1, 2, 7, 64, 100_000])
    func anthropicTextAndTerminalEventAtAnySplit(chunk: Int) {
        let tap = Self.run(.anthropic, Self.anthropic, chunk: chunk)
        #expect(tap.content == "Hello, world é" && tap.sawTerminal)
    }

    @Test(arguments: ["\n", "\r\n", "\r"])
    func lineEndings(ending: String) {
        let text = Self.openai.replacingOccurrences(of: "\n", with: ending)
        let tap = Self.run(.openai, text, chunk: 3)
        #expect(tap.content == "Hi there" && tap.sawTerminal)
    }

    @Test func missingTerminalEventIsNoticed() {
        let cut = String(Self.anthropic.dropLast("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".count))
        let tap = Self.run(.anthropic, cut, chunk: 5)
        #expect(tap.content == "Hello, world é" && !tap.sawTerminal && tap.needsTerminalEvent)
    }

    @Test func textFormatJoinsEveryDataAndMultiLineData() {
        let tap = Self.run(.text, "data: one\n\ndata: two\ndata: lines\n\n", chunk: 1)
        #expect(tap.content == "one\ntwo\nlines" && !tap.needsTerminalEvent)
    }

    @Test func customEventAndPointer() {
        let stream = "event: token\ndata: {\"out\":{\"t\":\"a\"}}\n\nevent: other\ndata: {\"out\":{\"t\":\"X\"}}\n\nevent: token\ndata: {\"out\":{\"t\":\"b\"}}\n\n"
        #expect(Self.run(.custom(event: "token", pointer: "/out/t"), stream, chunk: 4).content == "ab")
        #expect(Self.run(.custom(event: nil, pointer: "/out/t"), stream, chunk: 4).content == "aXb")
    }
}

@Suite struct SaveTemplateTests {
    let template = SaveTemplate(content: "He said \"hi\"\n", params: [(name: "bookId", value: "b 1")],
                                requestBody: try? JSONValue.parse(Array(#"{"chapterId": "c/42", "n": 3}"#.utf8)),
                                query: "lang=en&x=a%20b", headers: { $0 == "X-Tenant" ? "t1" : nil }, user: "u1", requestID: "rid")

    @Test func urlValuesArePercentEncoded() {
        #expect(template.renderURL("/books/{bookId}/chapters/{body.chapterId}?lang={query.lang}&u={user}")
                == "/books/b%201/chapters/c%2F42?lang=en&u=u1")
    }

    @Test func bodyValuesAreJSONEscapedStrings() {
        let body = template.renderBody(.object([("content", .string("{content}")), ("who", .string("{user}@{header.X-Tenant}")),
                                                ("n", .string("{body.n}")), ("id", .string("{request_id}")), ("fixed", .number(1))]))
        #expect(body.jsonText() == #"{"content":"He said \"hi\"\n","who":"u1@t1","n":"3","id":"rid","fixed":1}"#)
    }
}
