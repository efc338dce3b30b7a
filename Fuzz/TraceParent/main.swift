import RampartHTTP

// libFuzzer target for W3C `traceparent` (TraceParent.parse: every request's header, when tracing
// is on). Invariants: an accepted value has a 16-byte trace id and an 8-byte parent id, neither
// all zeros; the header Rampart writes from it parses back to the same value and is 55 bytes of
// lowercase version 00; a version-00 input that is accepted is exactly what Rampart would write
// for it, but for the flags' unused bits.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    let text = String(decoding: input, as: UTF8.self)
    guard let p = TraceParent.parse(text) else { return 0 }
    require(p.traceID.count == 16 && p.spanID.count == 8, "id lengths \(p.traceID.count) \(p.spanID.count)")
    require(p.traceID.contains { $0 != 0 } && p.spanID.contains { $0 != 0 }, "an all-zero id was accepted: \(show(input))")
    let written = p.header
    require(written.utf8.count == 55 && TraceParent.parse(written) == p, "round trip: \(written) from \(show(input))")
    if text.hasPrefix("00-") { require(written.dropLast(2) == text.dropLast(2), "\(written) for \(show(input))") }
    return 0
}
