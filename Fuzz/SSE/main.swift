import RampartHTTP

// libFuzzer target for server-sent events: SSEParser (upstream streams the usage and stream-save
// taps read) and SSEEncoder (Rampart's own events). Invariants:
//  - the parser dispatches the same events (type, data, id, retry), drops the same number of
//    oversized ones and ends with the same reconnection time whether the stream arrives at once,
//    one byte at a time or in irregular pieces, with the default event limit and a small one;
//  - the events re-encoded (SSEEncoder, plus a `retry:` line where an event had one) parse back
//    to the same events: what Rampart writes from what it read is read the same by a client. The
//    encoder drops NUL from event names (documented), so the expected name is the name without
//    NUL, "message" when that leaves nothing.

struct Parsed: Equatable {
    var events: [SSEEvent] = []
    var dropped = 0
    var reconnection: Int?
}

func parse(_ pieces: [ArraySlice<UInt8>], maxEventBytes: Int?) -> Parsed {
    var p = maxEventBytes.map { SSEParser(maxEventBytes: $0) } ?? SSEParser()
    var out = Parsed()
    for piece in pieces { p.feed(Array(piece)) { out.events.append($0) } }
    out.dropped = p.droppedEvents
    out.reconnection = p.reconnectionTime
    return out
}

func reencode(_ events: [SSEEvent]) -> [UInt8] {
    var out: [UInt8] = []
    for e in events {
        if let r = e.retry { out += Array("retry: \(r)\n".utf8) }
        // An empty id line resets the last event id, so an event without one stays without one.
        out += SSEEncoder.encode(event: e.event, data: e.data, id: e.id ?? "")
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    let bytes = input.indices.map { input[$0...$0] }
    for limit in [nil, 48] as [Int?] {
        let whole = parse([input[...]], maxEventBytes: limit)
        let bytewise = parse(bytes, maxEventBytes: limit)
        require(bytewise == whole, "one-shot \(whole) but byte-at-a-time \(bytewise) (limit \(String(describing: limit))): \(show(input))")
        let pieces = parse(irregularPieces(input), maxEventBytes: limit)
        require(pieces == whole, "one-shot \(whole) but in pieces \(pieces) (limit \(String(describing: limit))): \(show(input))")
    }
    let events = parse([input[...]], maxEventBytes: nil).events
    let encoded = reencode(events)
    let again = parse([encoded[...]], maxEventBytes: nil).events
    let expected = events.map { e -> SSEEvent in
        var e = e
        e.event = String(String.UnicodeScalarView(e.event.unicodeScalars.filter { $0 != "\0" }))
        if e.event.isEmpty { e.event = "message" }
        return e
    }
    require(again == expected, "parse(encode(events)) \(again) for \(expected) via \(show(encoded)) from \(show(input))")
    return 0
}
