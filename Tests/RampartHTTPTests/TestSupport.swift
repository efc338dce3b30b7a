import RampartHTTP

/// Test strings map to bytes one scalar per byte (ISO-8859-1), so "\u{80}" is the single byte 0x80.
/// The malformed-requests fixture uses the same convention.
func latin1(_ s: String) -> [UInt8] {
    s.unicodeScalars.map { scalar in
        precondition(scalar.value <= 0xFF, "test input must be Latin-1")
        return UInt8(scalar.value)
    }
}

func parse(_ s: String, limits: HTTPLimits = HTTPLimits()) -> HeadParseResult {
    HTTPRequestParser.parseHead(latin1(s), limits: limits)
}

extension HeadParseResult {
    var head: HTTPRequestHead? {
        if case .complete(let h, _) = self { return h }
        return nil
    }

    var consumed: Int? {
        if case .complete(_, let c) = self { return c }
        return nil
    }

    var error: HTTPParseError? {
        if case .failure(let e) = self { return e }
        return nil
    }

    var isIncomplete: Bool {
        if case .incomplete = self { return true }
        return false
    }
}

/// Decodes a whole chunked body in one call, returning payload and result.
func decodeChunked(_ bytes: [UInt8], decoder: inout ChunkedDecoder) -> ([UInt8], ChunkedDecodeResult) {
    var out: [UInt8] = []
    let r = decoder.decode(bytes) { out.append(contentsOf: $0) }
    return (out, r)
}

/// Decodes feeding one byte per call; returns payload, total bytes consumed and the final result.
func decodeChunkedBytewise(_ bytes: [UInt8]) -> (payload: [UInt8], consumed: Int, result: ChunkedDecodeResult) {
    var d = ChunkedDecoder()
    var out: [UInt8] = []
    var consumed = 0
    var last = ChunkedDecodeResult.needMore(consumed: 0)
    for b in bytes {
        last = d.decode([b]) { out.append(contentsOf: $0) }
        switch last {
        case .needMore(let c): consumed += c
        case .finished(let c): return (out, consumed + c, last)
        case .failure: return (out, consumed, last)
        }
    }
    return (out, consumed, last)
}

func sseEvents(_ chunks: [[UInt8]], parser: SSEParser = SSEParser()) -> [SSEEvent] {
    var p = parser
    var events: [SSEEvent] = []
    for c in chunks { p.feed(c) { events.append($0) } }
    return events
}

func sseEvents(_ s: String) -> [SSEEvent] {
    sseEvents([Array(s.utf8)])
}
