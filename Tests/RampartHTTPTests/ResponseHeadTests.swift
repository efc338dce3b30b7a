import RampartHTTP
import Testing

@Suite struct ResponseHeadTests {
    @Test func serializesStatusLineFieldsAndBlankLine() {
        let head = HTTPResponseHead(status: 200, headers: ["Content-Type": "text/plain", "Set-Cookie": "a=1", "set-cookie": "b=2"])
        let text = String(decoding: head.serialized(), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n")
    }

    @Test(arguments: [
        (404, nil, "HTTP/1.1 404 Not Found\r\n\r\n"),
        (429, nil, "HTTP/1.1 429 Too Many Requests\r\n\r\n"),
        (431, nil, "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n"),
        (200, "Fine", "HTTP/1.1 200 Fine\r\n\r\n"),
        (299, nil, "HTTP/1.1 299 \r\n\r\n"),
        (100, nil, "HTTP/1.1 100 Continue\r\n\r\n"),
    ] as [(Int, String?, String)])
    func statusLines(status: Int, reason: String?, expected: String) {
        var out: [UInt8] = []
        HTTPResponseHead(status: status, reason: reason).serialize(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    @Test func appendsToExistingBuffer() {
        var out = Array("prefix".utf8)
        var head = HTTPResponseHead(status: 204)
        head.versionMinor = 0
        head.serialize(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "prefixHTTP/1.0 204 No Content\r\n\r\n")
    }

    @Test func neverSplitsTheResponse() {
        let head = HTTPResponseHead(status: 502, reason: "Bad\r\nX-Evil: 1", headers: [
            "X-Ok": "a\r\nSet-Cookie: evil=1", "Bad Name": "dropped", "": "dropped", "X-Nul": "a\u{0}b",
        ])
        let text = String(decoding: head.serialized(), as: UTF8.self)
        #expect(text == "HTTP/1.1 502 Bad  X-Evil: 1\r\nX-Ok: a  Set-Cookie: evil=1\r\nX-Nul: a b\r\n\r\n")
    }

    @Test func roundTripsThroughAHeadReader() {
        let fields = [
            HTTPField(name: "Content-Type", value: "text/event-stream"), HTTPField(name: "Cache-Control", value: "no-cache"),
            HTTPField(name: "X-Request-Id", value: "01JD-abc"), HTTPField(name: "Vary", value: "Origin"),
            HTTPField(name: "Vary", value: "Accept-Encoding"), HTTPField(name: "X-Empty", value: ""),
        ]
        for status in [200, 201, 304, 413, 503] {
            let bytes = HTTPResponseHead(status: status, headers: HTTPHeaders(fields)).serialized()
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasSuffix("\r\n\r\n"))
            var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast(2).map(String.init)
            let statusLine = lines.removeFirst()
            #expect(statusLine == "HTTP/1.1 \(status) \(HTTPResponseHead.reasonPhrase(status))")
            let parsed = lines.map { line -> HTTPField in
                let colon = line.firstIndex(of: ":")!
                return HTTPField(name: String(line[..<colon]), value: String(line[line.index(colon, offsetBy: 2)...]))
            }
            #expect(parsed == fields)
        }
    }

    @Test func reasonPhrases() {
        #expect(HTTPResponseHead.reasonPhrase(200) == "OK")
        #expect(HTTPResponseHead.reasonPhrase(413) == "Content Too Large")
        #expect(HTTPResponseHead.reasonPhrase(504) == "Gateway Timeout")
        #expect(HTTPResponseHead.reasonPhrase(799) == "")
    }
}

@Suite struct RequestIDTests {
    @Test(arguments: [
        "a", "01JD4V7X9Q3K", "req-123_abc.def:42", "550e8400-e29b-41d4-a716-446655440000", String(repeating: "z", count: 128),
    ])
    func sane(id: String) {
        #expect(RequestID.isSane(id))
    }

    @Test(arguments: [
        "", String(repeating: "z", count: 129), "has space", "semi;colon", "new\nline", "cr\r", "tab\t", "é",
        "slash/x", "quote\"", "<script>", "a\u{0}b", "plus+", "eq=",
    ])
    func insane(id: String) {
        #expect(!RequestID.isSane(id))
        #expect(RequestID(sent: id) == nil)
    }

    /// A made id keeps its bytes inline: the text, the bytes lent and the count agree, for ids
    /// filled with every safe character at every position.
    @Test func madeIDsLendTheirBytes() {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        for shift in 0..<alphabet.count {
            let bytes = (0..<RequestID.madeCount).map { alphabet[($0 &+ shift) % alphabet.count] }
            let id = RequestID { out in for (i, b) in bytes.enumerated() { out[i] = b } }
            #expect(id.description == String(decoding: bytes, as: UTF8.self))
            #expect(id.withUTF8 { Array($0) } == bytes)
            #expect(id.utf8Count == 26)
        }
        let sent = RequestID(sent: "req-123_abc.def:42")
        #expect(sent?.description == "req-123_abc.def:42")
        #expect(sent?.withUTF8 { Array($0) } == Array("req-123_abc.def:42".utf8))
        #expect(sent?.utf8Count == 18)
    }
}

@Suite struct FixedFieldsTests {
    /// The lines written once are those a head's writer writes for the same fields: checked
    /// fields as they are, a control byte in a value as a space, a name that is no token left out.
    @Test func linesAreWhatTheHeadWriterWrites() {
        var h = HTTPHeaders([HTTPField.checked(name: "X-Frame-Options", value: "DENY")])
        h.add("Content-Security-Policy", "default-src 'self'")
        h.add("X-Odd", "a\u{1}b")
        h.add("Bad Name", "dropped")
        let fixed = FixedFields(h)
        #expect(String(decoding: fixed.lines, as: UTF8.self)
                == "X-Frame-Options: DENY\r\nContent-Security-Policy: default-src 'self'\r\nX-Odd: a b\r\n")
        #expect(FixedFields(HTTPHeaders()).lines.isEmpty)
    }
}
