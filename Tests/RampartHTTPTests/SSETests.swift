import RampartHTTP
import Testing

struct SSECase: Sendable, CustomTestStringConvertible {
    var name: String
    var stream: [UInt8]
    var events: [SSEEvent]
    var testDescription: String { name }

    init(_ name: String, _ stream: String, _ events: [SSEEvent]) {
        self.name = name
        self.stream = Array(stream.utf8)
        self.events = events
    }

    init(_ name: String, bytes: [UInt8], _ events: [SSEEvent]) {
        self.name = name
        self.stream = bytes
        self.events = events
    }
}

/// Table derived from the WHATWG "Interpreting an event stream" rules.
let sseCases: [SSECase] = [
    SSECase("lf", "data: hello\n\n", [SSEEvent(data: "hello")]),
    SSECase("crlf", "data: hello\r\n\r\n", [SSEEvent(data: "hello")]),
    SSECase("cr", "data: hello\r\r", [SSEEvent(data: "hello")]),
    SSECase("mixed line ends", "data: a\rdata: b\r\ndata: c\n\r\n", [SSEEvent(data: "a\nb\nc")]),
    SSECase("multi-line data", "data: first\ndata: second\ndata:third\n\n", [SSEEvent(data: "first\nsecond\nthird")]),
    SSECase("two events", "data: 1\n\ndata: 2\n\n", [SSEEvent(data: "1"), SSEEvent(data: "2")]),
    SSECase("comments ignored", ": ping\n:\ndata: x\n: mid\n\n: alone\n\n", [SSEEvent(data: "x")]),
    SSECase("only one leading space stripped", "data:  two\ndata:none\n\n", [SSEEvent(data: " two\nnone")]),
    SSECase("field without colon", "data\n\n", [SSEEvent(data: "")]),
    SSECase("empty data lines", "data:\ndata:\n\n", [SSEEvent(data: "\n")]),
    SSECase("no data no dispatch", "event: add\n\nid: 3\n\nretry: 10\n\n", []),
    SSECase("event type", "event: add\ndata: x\n\ndata: y\n\n", [SSEEvent(event: "add", data: "x"), SSEEvent(data: "y")]),
    SSECase("event type reset without dispatch", "event: add\n\ndata: y\n\n", [SSEEvent(data: "y")]),
    SSECase("empty event type is message", "event:\ndata: x\n\n", [SSEEvent(data: "x")]),
    SSECase("id persists", "id: 7\ndata: a\n\ndata: b\n\n", [SSEEvent(data: "a", id: "7"), SSEEvent(data: "b", id: "7")]),
    SSECase("empty id resets", "id: 7\ndata: a\n\nid\ndata: b\n\n", [SSEEvent(data: "a", id: "7"), SSEEvent(data: "b")]),
    SSECase("id with NUL ignored", "id: 1\ndata: a\n\nid: 2\u{0}x\ndata: b\n\n", [SSEEvent(data: "a", id: "1"), SSEEvent(data: "b", id: "1")]),
    SSECase("retry digits", "retry: 1500\ndata: x\n\ndata: y\n\n", [SSEEvent(data: "x", retry: 1500), SSEEvent(data: "y")]),
    SSECase("retry invalid ignored", "retry: 15a\nretry: -1\nretry:  5\nretry:\ndata: x\n\n", [SSEEvent(data: "x")]),
    SSECase("unknown and case-sensitive fields ignored", "Data: no\nfoo: bar\ndata: yes\n\n", [SSEEvent(data: "yes")]),
    SSECase("colon in value kept", "data: a: b:c\n\n", [SSEEvent(data: "a: b:c")]),
    SSECase("unterminated event not dispatched", "data: done\n\ndata: partial\n", [SSEEvent(data: "done")]),
    SSECase("leading bom", "\u{FEFF}data: x\n\n", [SSEEvent(data: "x")]),
    SSECase("bom only once", "\u{FEFF}data: x\n\n\u{FEFF}data: y\n\n", [SSEEvent(data: "x")]),
    SSECase("bom-like prefix kept", bytes: [0xEF, 0xBB] + Array("data: z\n\n".utf8), []),
    SSECase("utf8 data", "data: héllo ✓\n\n", [SSEEvent(data: "héllo ✓")]),
    SSECase(
        "anthropic stream",
        "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}\n\n"
            + "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        [
            SSEEvent(event: "message_start", data: "{\"type\":\"message_start\"}"),
            SSEEvent(event: "content_block_delta", data: "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hi\"}}"),
            SSEEvent(event: "ping", data: "{\"type\": \"ping\"}"),
        ]),
    SSECase("openai stream", "data: {\"choices\":[]}\n\ndata: [DONE]\n\n", [SSEEvent(data: "{\"choices\":[]}"), SSEEvent(data: "[DONE]")]),
]

@Suite struct SSEParserTests {
    @Test(arguments: sseCases)
    func wholeStream(_ c: SSECase) {
        #expect(sseEvents([c.stream]) == c.events)
    }

    @Test(arguments: sseCases)
    func splitAtEveryByte(_ c: SSECase) {
        for k in 0...c.stream.count {
            #expect(sseEvents([Array(c.stream[..<k]), Array(c.stream[k...])]) == c.events, "split at \(k)")
        }
        #expect(sseEvents(c.stream.map { [$0] }) == c.events, "one byte at a time")
    }

    @Test func crAtEndOfChunkThenLF() {
        // The LF after a CR that ended the previous chunk must not produce an extra (dispatching) empty line.
        #expect(sseEvents([Array("data: a\r".utf8), Array("\ndata: b\r".utf8), Array("\n\r\n".utf8)]) == [SSEEvent(data: "a\nb")])
    }

    @Test func reconnectionTimeIsKept() {
        var p = SSEParser()
        p.feed(Array("retry: 3000\n\n".utf8)) { _ in Issue.record("no event expected") }
        #expect(p.reconnectionTime == 3000)
    }

    @Test func oversizedEventIsDroppedNotBuffered() {
        var p = SSEParser(maxEventBytes: 64)
        var events: [SSEEvent] = []
        let big = "data: " + String(repeating: "x", count: 100) + "\n\n"
        let many = String(repeating: "data: 0123456789\n", count: 10) + "\n"
        for chunk in [big, many, "data: ok\n\n"] {
            for b in chunk.utf8 { p.feed([b]) { events.append($0) } }
        }
        #expect(events == [SSEEvent(data: "ok")])
        #expect(p.droppedEvents == 2)
    }
}

@Suite struct SSEEncoderTests {
    @Test func exactBytes() {
        let bytes = SSEEncoder.encode(event: "save_status", data: "{\"type\":\"save_status\",\"success\":true}")
        #expect(String(decoding: bytes, as: UTF8.self) == "event: save_status\ndata: {\"type\":\"save_status\",\"success\":true}\n\n")
        #expect(String(decoding: SSEEncoder.encode(event: nil, data: "a\nb", id: "9"), as: UTF8.self) == "id: 9\ndata: a\ndata: b\n\n")
    }

    @Test(arguments: [
        ("save_status", "{\"a\":1}", "42", "{\"a\":1}"),
        (nil, "line1\nline2\r\nline3\rline4", nil, "line1\nline2\nline3\nline4"),
        ("x", "", nil, ""),
        (nil, "  leading spaces", nil, "  leading spaces"),
        (nil, "trailing newline\n", nil, "trailing newline\n"),
        (nil, ": not a comment", nil, ": not a comment"),
        ("ev\ril\nname", "d", "i\r\nd\u{0}", "d"),
        (nil, "ünïcødé ✓", "id-ü", "ünïcødé ✓"),
    ] as [(String?, String, String?, String)])
    func roundTripThroughParser(event: String?, data: String, id: String?, parsedData: String) {
        let bytes = SSEEncoder.encode(event: event, data: data, id: id)
        let events = sseEvents([bytes])
        let clean = { (s: String) in String(s.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\u{0}" }) }
        let expectedEvent = SSEEvent(
            event: event.map(clean).flatMap { $0.isEmpty ? nil : $0 } ?? "message", data: parsedData, id: id.map(clean))
        #expect(events == [expectedEvent])
    }
}
