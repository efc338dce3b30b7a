import RampartHTTP

// libFuzzer target for Rampart's JSON reader and writer: JSONValue.parse / JSONParser (the config,
// request bodies for validation, JWT parts, admin input) and JSONValue.write / JSONText.quote
// (admin answers, error bodies, re-serialised bodies). Invariants, on any bytes:
//  - an accepted document re-serialises to text that parses to an equal value, and that text is a
//    fixed point (byte for byte); `write(to:)` and `jsonText()` agree;
//  - the depth limit is exact: a document nested d levels parses with maxDepth d and fails with
//    d - 1, and nothing deeper than the default 512 is ever accepted (so no stack exhaustion);
//  - the lenient parser (duplicates reported, not refused, as `rampart check` uses it) reads the
//    same value when the strict one accepts, and finds duplicates whenever only the strict one
//    refuses;
//  - JSONText.quote(s) parses back to exactly s (same UTF-8 bytes) for the input read as text.

func depth(_ v: JSONValue) -> Int {
    switch v {
    case .array(let a): return 1 + (a.map(depth).max() ?? 0)
    case .object(let o): return 1 + (o.map { depth($0.value) }.max() ?? 0)
    default: return 0
    }
}

func parses(_ bytes: [UInt8], maxDepth: Int) -> Bool {
    (try? JSONValue.parse(bytes, maxDepth: maxDepth)) != nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    let strict = try? JSONValue.parse(input)
    var lenient = JSONParser(bytes: input, rejectDuplicates: false)
    let loose = try? lenient.parseDocument()

    if let value = strict {
        require(loose == value && lenient.duplicates.isEmpty, "lenient parse differs: \(show(input))")
        let text = Array(value.jsonText().utf8)
        var written: [UInt8] = []
        value.write(to: &written)
        require(written == text, "write(to:) \(show(written)) but jsonText \(show(text))")
        guard let again = try? JSONValue.parse(text) else {
            fatalError("invariant violated: re-serialised text does not parse: \(show(input)) -> \(show(text))")
        }
        require(again == value, "round trip changed the value: \(show(input)) -> \(show(text))")
        require(Array(again.jsonText().utf8) == text, "not a fixed point: \(show(text)) -> \(show(again.jsonText().utf8))")
        let d = depth(value)
        require(d <= 512, "accepted \(d) levels of nesting")
        require(parses(input, maxDepth: d), "\(d) levels refused with maxDepth \(d): \(show(input))")
        if d > 0 { require(!parses(input, maxDepth: d - 1), "\(d) levels accepted with maxDepth \(d - 1): \(show(input))") }
    } else if loose != nil {
        require(!lenient.duplicates.isEmpty, "only the strict parser refused, without a duplicate: \(show(input))")
    }

    let s = String(decoding: input, as: UTF8.self)
    let quoted = JSONText.quote(s)
    guard case .string(let back)? = try? JSONValue.parse(Array(quoted.utf8)), Array(back.utf8) == Array(s.utf8) else {
        fatalError("invariant violated: JSONText.quote does not round-trip: \(show(input)) -> \(show(quoted.utf8))")
    }
    return 0
}
