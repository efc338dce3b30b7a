import RampartHTTP
import Testing

/// The byte storage behind `HTTPHeaders`: value semantics (a copy never sees another's change),
/// shared value bytes, growth past the parser's room, and the bulk append the policies use.
@Suite struct HeaderStorageTests {
    @Test func aCopyNeverSeesTheOthersChanges() {
        let original: HTTPHeaders = ["A": "1", "B": "2"]
        var copy = original
        copy.add("C", "3")
        copy.replaceValue(at: 0, with: "one")
        copy.remove(at: 1)
        #expect(original.fields == [HTTPField(name: "A", value: "1"), HTTPField(name: "B", value: "2")])
        #expect(copy.fields == [HTTPField(name: "A", value: "one"), HTTPField(name: "C", value: "3")])
        var removed = original
        removed.removeFields { name, _ in name.first == UInt8(ascii: "A") }
        #expect(original.count == 2 && removed.fields == [HTTPField(name: "B", value: "2")])
    }

    @Test func aSharedValueKeepsItsBytesWhenTheOtherIsReplaced() {
        var h: HTTPHeaders = ["Host": "app.example"]
        h.add(name: Array("X-Forwarded-Host".utf8), valueOf: 0)
        h.replaceValue(at: 0, with: "upstream.internal")
        #expect(h["host"] == "upstream.internal")
        #expect(h["x-forwarded-host"] == "app.example")
    }

    @Test func growsPastAnyRoomAndKeepsOrder() {
        var h = HTTPHeaders()
        for i in 0..<300 { h.add("X-\(i)", String(repeating: "v", count: i)) }
        #expect(h.count == 300)
        #expect(h["x-299"] == String(repeating: "v", count: 299))
        #expect(h.name(at: 150) == "X-150")
        var many = "GET / HTTP/1.1\r\nHost: a\r\n"
        for i in 0..<40 { many += "X-\(i): \(i)\r\n" }
        guard case .complete(let head, _) = HTTPRequestParser.parseHead(Array((many + "\r\n").utf8)) else {
            Issue.record("a head of 41 fields parses"); return
        }
        #expect(head.headers.count == 41)
        #expect(head.headers["x-39"] == "39")
    }

    @Test func appendingAHeadAddsItsFieldsInOrderAndKeepsThemChecked() {
        let fixed = HTTPHeaders([HTTPField.checked(name: "X-Frame-Options", value: "DENY"), HTTPField(name: "Via", value: "1.1 r")])
        var h: HTTPHeaders = ["A": "1"]
        h.append(contentsOf: fixed)
        h.append(contentsOf: HTTPHeaders())
        #expect(h.fields.map(\.name) == ["A", "X-Frame-Options", "Via"])
        #expect(h.field(at: 1).isWireChecked && !h.field(at: 2).isWireChecked)
        #expect(fixed.count == 2)
    }

    @Test func aSerialisedHeadChecksOnlyWhatWasNotChecked() {
        var h = HTTPHeaders()
        h.add("X-Bad", "a\r\nInjected: 1")
        h.add("Bad Name", "dropped")
        h.append(contentsOf: HTTPHeaders([HTTPField.checked(name: "X-Ok", value: "fine")]))
        let text = String(decoding: HTTPResponseHead(status: 200, headers: h).serialized(), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nX-Bad: a  Injected: 1\r\nX-Ok: fine\r\n\r\n")
    }

    /// A field named by a literal skips the name check, never the value's.
    @Test func aLiteralNamedFieldStillHasItsValueChecked() {
        var h = HTTPHeaders()
        h.add(literal: "X-Note", "a\r\nInjected: 1")
        h.add(literal: "X-Plain", literal: "ok")
        let text = String(decoding: HTTPResponseHead(status: 200, headers: h).serialized(), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nX-Note: a  Injected: 1\r\nX-Plain: ok\r\n\r\n")
    }
}
