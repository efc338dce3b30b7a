extension JSONValue {
    /// Compact JSON text (no whitespace), keys in their stored order. Used for /admin/config,
    /// error bodies and re-serialised request bodies, so escaping must be exact.
    public func jsonText() -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the compact JSON text to a byte buffer (avoids a String round trip on hot paths).
    public func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: JSONValue.numberText(n).utf8)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, e) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                e.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(m.key, to: &out)
                out.append(UInt8(ascii: ":"))
                m.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Integral values print without a fraction ("10", not "10.0"); JSON has no NaN/Infinity, so null.
    package static func numberText(_ n: Double) -> String {
        guard n.isFinite else { return "null" }
        if n == n.rounded(), abs(n) < 9_007_199_254_740_992 { return String(Int64(n)) }
        return n.description
    }

    /// Escapes quote, backslash and every control character; everything else passes as UTF-8.
    /// Runs of plain bytes are copied whole: access-log lines and bodies are mostly plain.
    package static func writeString(_ s: String, to out: inout [UInt8]) {
        let bound = stringBound(s)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let n = out.withUnsafeMutableBufferPointer { buf in writeString(s, at: buf.baseAddress! + start) - (buf.baseAddress! + start) }
        out.removeLast(bound - n)
    }

    /// Room `writeString` can need: quotes, and 6 bytes (`\u00XX`) per byte at worst.
    package static func stringBound(_ s: String) -> Int { s.utf8.count * 6 + 2 }

    /// The same written at `p`, which has room for `stringBound(s)` bytes; returns the end.
    package static func writeString(_ s: String, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var p = p
        p.pointee = UInt8(ascii: "\""); p += 1
        HTTPHeaders.withBytes(s) { buf in
            guard let base = buf.baseAddress else { return }
            var run = 0
            while true {
                let i = nextEscape(buf, from: run)
                if i > run { copyShortBytes(p, base + run, i - run); p += i - run }
                if i == buf.count { break }
                p = writeEscape(buf[i], at: p)
                run = i + 1
            }
        }
        p.pointee = UInt8(ascii: "\""); p += 1
        return p
    }

    /// The index of the first byte from `start` that needs escaping, or `buf.count`: 8 bytes at a
    /// time (control, quote, backslash and DEL found by the zero-byte trick; the lowest flag is exact).
    @inline(__always)
    static func nextEscape(_ buf: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let raw = UnsafeRawPointer(buf.baseAddress!)
        var i = start
        while i &+ 8 <= buf.count {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let quote = w ^ 0x2222_2222_2222_2222, slash = w ^ 0x5C5C_5C5C_5C5C_5C5C, del = w ^ 0x7F7F_7F7F_7F7F_7F7F
            let flags = ((w &- 0x2020_2020_2020_2020) & ~w) | ((quote &- ones) & ~quote)
                | ((slash &- ones) & ~slash) | ((del &- ones) & ~del)
            let stops = flags & highs
            if stops != 0 { return i &+ (stops.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < buf.count && !needsEscape(buf[i]) { i &+= 1 }
        return i
    }

    @inline(__always) package static func needsEscape(_ c: UInt8) -> Bool {
        c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c == 0x7F
    }

    private static func writeEscape(_ c: UInt8, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        p[0] = UInt8(ascii: "\\")
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): p[1] = c
        case 0x0A: p[1] = UInt8(ascii: "n")
        case 0x0D: p[1] = UInt8(ascii: "r")
        case 0x09: p[1] = UInt8(ascii: "t")
        case 0x08: p[1] = UInt8(ascii: "b")
        case 0x0C: p[1] = UInt8(ascii: "f")
        default:
            let hex: StaticString = "0123456789abcdef"
            p[1] = UInt8(ascii: "u"); p[2] = UInt8(ascii: "0"); p[3] = UInt8(ascii: "0")
            p[4] = hex.utf8Start[Int(c >> 4)]; p[5] = hex.utf8Start[Int(c & 0xF)]
            return p + 6
        }
        return p + 2
    }

    /// The JSON type name used in "expected …, got …" messages.
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
