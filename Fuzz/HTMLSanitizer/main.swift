// libFuzzer target for the stream_save HTML sanitizer (Fuzz/build.sh compiles it with the
// sanitizer's own source files). Invariants, on any bytes read as UTF-8:
//  - no crash, no memory error (AddressSanitizer), libxml2 included;
//  - nothing executable in the output, checked on its DOM parsed again (HTMLSafetyCheck);
//  - sanitizing the output again removes nothing, and what that second pass writes is a fixed point.
//    (The first output itself is a byte-exact fixed point for well-nested input, as the unit and
//    corpus tests assert; for badly nested input libxml2 may build a tree, say a th inside a th
//    through an unknown wrapper, that its own parser restructures when it reads the output back.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let once = HTMLSanitizer.sanitize(input)
    let violations = HTMLSafetyCheck.violations(once.html)
    if !violations.isEmpty { fatalError("executable output \(violations) from \(input.debugDescription) -> \(once.html.debugDescription)") }
    let twice = HTMLSanitizer.sanitize(once.html)
    if twice.removed != 0 { fatalError("a second pass removed \(twice.removed): \(input.debugDescription) -> \(once.html.debugDescription) -> \(twice)") }
    let third = HTMLSanitizer.sanitize(twice.html)
    if third != HTMLSanitizer.Result(html: twice.html, removed: 0) {
        fatalError("no fixed point: \(input.debugDescription) -> \(once.html.debugDescription) -> \(twice.html.debugDescription) -> \(third)")
    }
    return 0
}
