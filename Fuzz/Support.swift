// Shared by the parser fuzz targets (Fuzz/build.sh compiles it into each of them): how an
// invariant fails, how bytes are shown in that message, and the input splitting they share.

/// A violated invariant: libFuzzer reports the trap as a crash and saves the input.
func require(_ ok: Bool, _ message: @autoclosure () -> String) {
    if !ok { fatalError("invariant violated: " + message()) }
}

/// Bytes as a Swift-like literal (printable ASCII as is, the rest escaped), cut at 600 bytes.
func show<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var out = "\""
    for b in bytes.prefix(600) {
        switch b {
        case 0x0D: out += "\\r"
        case 0x0A: out += "\\n"
        case 0x09: out += "\\t"
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
        default: out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
        }
    }
    return out + (bytes.count > 600 ? "\"…(\(bytes.count) bytes)" : "\"")
}

/// The input as an array (libFuzzer hands a pointer that is only valid during the call).
func inputBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Split points derived from the input itself (same input, same splits), so a third way of
/// feeding, besides one-shot and byte-at-a-time, cuts the stream at irregular places.
func irregularPieces(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var state = UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15
    for b in bytes.prefix(64) { state = (state ^ UInt64(b)) &* 0x100_0000_01B3 }
    var pieces: [ArraySlice<UInt8>] = []
    var i = 0
    while i < bytes.count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let n = Int((state >> 33) % 13)   // 0 ... 12: empty pieces too
        let end = min(bytes.count, i + n)
        pieces.append(bytes[i..<end])
        i = end
    }
    return pieces
}

/// Splits at the first NUL: (before, after). No NUL: (all, nil). NUL never occurs in JSON text,
/// so targets whose input is two JSON documents use it as the separator.
func splitAtNUL(_ bytes: [UInt8]) -> ([UInt8], [UInt8]?) {
    guard let k = bytes.firstIndex(of: 0) else { return (bytes, nil) }
    return (Array(bytes[..<k]), Array(bytes[(k + 1)...]))
}
