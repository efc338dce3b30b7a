import RampartHTTP
import Testing

@Suite struct HTTPHeadersTests {
    var headers: HTTPHeaders = [
        "Content-Type": "text/plain", "Set-Cookie": "a=1", "X-Trace": "t", "set-cookie": "b=2",
    ]

    @Test func lookupsAreCaseInsensitive() {
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["SET-COOKIE"] == "a=1")
        #expect(headers["missing"] == nil)
        #expect(headers.values("Set-Cookie") == ["a=1", "b=2"])
        #expect(headers.values("nope").isEmpty)
        #expect(headers.contains("x-trace"))
        #expect(!headers.contains("x-trac"))
        #expect(!headers.contains("x-traceX"))
    }

    @Test func connectionFieldNamesAreSplitOnBytesAndLowercased() {
        let h: HTTPHeaders = ["Connection": "keep-alive", "connection": " X-Secret ,close,\tUpgrade-Me ", "CONNECTION": ",,"]
        #expect(h.connectionFieldNames() == ["x-secret", "upgrade-me"])
        #expect((["Connection": "Close"] as HTTPHeaders).connectionFieldNames().isEmpty)
        #expect(HTTPHeaders().connectionFieldNames().isEmpty)
    }

    @Test func caseInsensitiveEqualityOnBytes() {
        #expect("Content-Length".asciiCaseInsensitiveEquals("content-LENGTH"))
        #expect("x-a".asciiCaseInsensitiveEquals("X-A" as StaticString))
        #expect(!"x-a".asciiCaseInsensitiveEquals("x-b" as StaticString))
        #expect(!"x-a".asciiCaseInsensitiveEquals("x-ab"))
        #expect(!"é".asciiCaseInsensitiveEquals("É"), "only ASCII folds")
        var out: [UInt8] = [0x41]
        out.appendUTF8("bé")
        out.appendUTF8(String(repeating: "z", count: 40))
        #expect(out == [0x41] + Array("bé".utf8) + Array(repeating: 0x7A, count: 40))
    }

    @Test func addKeepsDuplicates() {
        var h = headers
        h.add("X-Trace", "u")
        #expect(h.values("x-trace") == ["t", "u"])
        #expect(h.fields.last == HTTPField(name: "X-Trace", value: "u"))
    }

    @Test func setReplacesAllKeepingFirstPosition() {
        var h = headers
        h.set("SET-COOKIE", "z=9")
        #expect(h.fields == [
            HTTPField(name: "Content-Type", value: "text/plain"), HTTPField(name: "Set-Cookie", value: "z=9"),
            HTTPField(name: "X-Trace", value: "t"),
        ])
        h.set("New", "1")
        #expect(h.fields.last == HTTPField(name: "New", value: "1"))
    }

    @Test func removeAndRemoveAll() {
        var h = headers
        h.remove("set-cookie")
        #expect(h.fields.map(\.name) == ["Content-Type", "X-Trace"])
        h.removeAll { $0.value == "t" }
        #expect(h.fields.map(\.name) == ["Content-Type"])
        h.remove("absent")
        #expect(h.count == 1)
    }

    @Test func sequenceIteratesInOrder() {
        #expect(headers.map(\.value) == ["text/plain", "a=1", "t", "b=2"])
        #expect(HTTPHeaders().isEmpty)
        #expect(HTTPHeaders([HTTPField(name: "A", value: "1")]) == ["A": "1"])
    }

    @Test func nonASCIINamesCompareExactly() {
        let h = HTTPHeaders([HTTPField(name: "X-Ä", value: "1")])
        #expect(h["x-Ä"] == "1")
        #expect(h["x-ä"] == nil)
    }
}

/// Fields appended in one go: in order after those there, written in place, marked checked, and
/// never into a list another value still shares.
@Suite struct FieldAppenderTests {
    @Test func appendsInOrderAndCopiesSharedStorageFirst() {
        var head = HTTPHeaders()
        head.add("Content-Type", "text/plain")
        let shared = head
        head.appendFields(count: 2, bytes: 64) { out in
            out.add(literal: "X-Count", valueAtMost: 20) { p in writeDecimal(1234, at: p) - p }
            "a=1".utf8CString.withUnsafeBufferPointer { c in
                c.withMemoryRebound(to: UInt8.self) { out.add(literal: "X-Pair", checkedBytes: UnsafeBufferPointer(rebasing: $0.dropLast())) }
            }
        }
        #expect(head.fields.map(\.name) == ["Content-Type", "X-Count", "X-Pair"])
        #expect(head.fields.map(\.value) == ["text/plain", "1234", "a=1"])
        #expect(shared.fields.map(\.name) == ["Content-Type"], "the list shared before is untouched")
        let wire = String(decoding: HTTPResponseHead(status: 200, reason: nil, headers: head).serialized(), as: UTF8.self)
        #expect(wire.contains("X-Count: 1234\r\nX-Pair: a=1\r\n"))
        // Into an empty list too, with a value shorter than its bound.
        var fresh = HTTPHeaders()
        fresh.appendFields(count: 1, bytes: 40) { out in out.add(literal: "X-Empty", valueAtMost: 20) { _ in 0 } }
        #expect(fresh.fields.map(\.value) == [""])
    }
}
