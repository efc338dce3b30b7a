import RampartHTTP

// libFuzzer target for the HTTP/2 → HTTP/1.1 downgrade: HTTP2RequestMapping (every request that
// arrives over HTTP/2 passes it before a route or an upstream sees it). Input: byte 0 says whether
// the HEADERS frame ended the stream (bit 0); the rest is a header list, one field per LF-ended
// line, name and value split by the first NUL (a name may be a pseudo-header; the values may hold
// any byte, as HPACK allows them to). Invariants, for a request the mapping accepts:
//  - its method is a token, its target is the :path (origin-form, or * for OPTIONS);
//  - no field name or value holds CR, LF or NUL;
//  - written again as the HTTP/1.1 request Rampart sends upstream, it parses back (the strict
//    parser, the same limits) to the same method, target, fields and framing, consuming exactly
//    those bytes: the downgrade can smuggle no header and no second request;
//  - mapping the same list twice gives the same answer.

func fields(_ bytes: ArraySlice<UInt8>) -> [(ArraySlice<UInt8>, ArraySlice<UInt8>)] {
    bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
        guard let nul = line.firstIndex(of: 0) else { return (line, line[line.endIndex...]) }
        return (line[..<nul], line[(nul + 1)...])
    }
}

func map(_ list: [(ArraySlice<UInt8>, ArraySlice<UInt8>)], endStream: Bool) -> Result<HTTPRequestHead, HTTPParseError> {
    var m = HTTP2RequestMapping()
    for (n, v) in list {
        Array(n).withUnsafeBytes { nb in Array(v).withUnsafeBytes { vb in m.add(name: nb, value: vb) } }
    }
    return m.head(endStream: endStream, limits: HTTPLimits())
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    guard let flags = input.first else { return 0 }
    let list = fields(input[1...])
    let endStream = flags & 1 != 0
    let first = map(list, endStream: endStream)
    let again = map(list, endStream: endStream)
    require(first == again, "two answers for one list: \(show(input))")
    guard case .success(let head) = first else { return 0 }
    require(!head.method.isEmpty && head.method.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "method \(head.method)")
    require(head.target.hasPrefix("/") || head.target == "*", "target \(head.target)")
    for f in head.headers.fields {
        for b in Array(f.name.utf8) + Array(f.value.utf8) { require(b != 0x0D && b != 0x0A && b != 0, "CR/LF/NUL in \(f.name): \(show(input))") }
    }
    // Upstream: the request line and fields as HTTP1ClientMachine writes them.
    var machine = HTTP1ClientMachine(method: head.method, body: .none)
    var wire: [UInt8] = []
    machine.encodeHead(target: head.target, headers: head.headers, into: &wire)
    let reparsed = wire.withUnsafeBytes { HTTPRequestParser.parseHead($0, limits: HTTPLimits()) }
    guard case .complete(let back, let consumed) = reparsed else {
        require(false, "the downgraded request does not parse: \(reparsed) from \(show(wire))"); return 0
    }
    require(consumed == wire.count, "the downgraded request is \(consumed) of \(wire.count) bytes: \(show(wire))")
    require(back.method == head.method && back.target == head.target, "method/target changed: \(show(wire))")
    require(back.headers.fields == head.headers.fields, "fields changed: \(back.headers.fields) vs \(head.headers.fields)")
    return 0
}
