import RampartHTTP
import RampartLoop
import RampartTransport
/// Where a JSON string sits in the body and how long it is once decoded.
struct TruncationString {
    /// First byte after the opening quote.
    package var start: Int
    /// The closing quote.
    package var end: Int
    /// Unicode scalars after decoding escapes: the "characters" that token estimates divide.
    var scalars: Int
    /// Whether any escape occurs, so comparisons must decode instead of comparing bytes.
    var escaped: Bool
}

extension TruncationScanner {
    /// Reads and validates a string, counting its decoded scalars without decoding it.
    package mutating func string() throws(TruncationError) -> TruncationString {
        guard try peek() == 0x22 else { throw fail("expected a string") }
        i += 1
        let start = i
        var scalars = 0
        var escaped = false
        while true {
            // Chat text is mostly plain ASCII: skip it eight bytes at a time.
            while i &+ 8 <= count {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                if Self.special(w) { break }
                i &+= 8
                scalars &+= 8
            }
            guard i < count else { break }
            let b = base[i]
            if b == 0x22 {
                i += 1
                return TruncationString(start: start, end: i - 1, scalars: scalars, escaped: escaped)
            }
            if b == 0x5C {
                escaped = true
                try escape()
            } else if b < 0x20 {
                throw fail("control character in string")
            } else if b < 0x80 {
                i += 1
            } else {
                try utf8Sequence(b)
            }
            scalars += 1
        }
        throw fail("")
    }

    /// Whether any of eight bytes is a quote, a backslash, a control character or non-ASCII
    /// (the classic "has a zero byte" bit trick; borrows can only misfire above a true hit).
    @inline(__always) package static func special(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
        let hits = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (w &- ones &* 0x20) | w
        return hits & (ones &* 0x80) != 0
    }

    /// Consumes one escape. A `\uD8xx\uDCxx` surrogate pair is consumed whole: it is one character.
    private mutating func escape() throws(TruncationError) {
        switch at(i + 1) {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 2
        case 0x75:
            let unit = try hex4(at: i + 2)
            i += 6
            if unit & 0xFC00 == 0xD800, at(i) == 0x5C, at(i + 1) == 0x75,
               let low = try? hex4(at: i + 2), low & 0xFC00 == 0xDC00 {
                i += 6
            }
        default: throw fail("invalid escape")
        }
    }

    private func hex4(at j: Int) throws(TruncationError) -> UInt32 {
        var v: UInt32 = 0
        for k in j..<j + 4 {
            let c = at(k)
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x37
            case 0x61...0x66: d = c - 0x57
            default: throw TruncationError.notJSON("invalid \\u escape at byte \(j - 2)")
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, surrogates or values past U+10FFFF).
    private mutating func utf8Sequence(_ lead: UInt8) throws(TruncationError) {
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xED: length = 3; high = 0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0: length = 4; low = 0x90
        case 0xF4: length = 4; high = 0x8F
        case 0xF1...0xF3: length = 4
        default: throw fail("invalid UTF-8")
        }
        let second = at(i + 1)
        guard second >= low, second <= high else { throw fail("invalid UTF-8") }
        for k in 2..<length where at(i + k) & 0xC0 != 0x80 { throw fail("invalid UTF-8") }
        i += length
    }

    /// Whether the string's decoded value is exactly `literal` (ASCII keys and role/type names).
    func equals(_ s: TruncationString, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        if s.escaped { return decoded(s).elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: n)) }
        guard s.end - s.start == n else { return false }
        for k in 0..<n where base[s.start + k] != literal.utf8Start[k] { return false }
        return true
    }

    /// Whether the string's decoded value is exactly `bytes` (a JSON pointer token).
    func equals(_ s: TruncationString, _ bytes: [UInt8]) -> Bool {
        if s.escaped { return decoded(s) == bytes }
        return UnsafeBufferPointer(start: base + s.start, count: s.end - s.start).elementsEqual(bytes)
    }

    /// The UTF-8 of the decoded value. Only used for the rare escaped key, so it may allocate.
    /// The string has already been validated, so escapes are well formed here.
    package func decoded(_ s: TruncationString) -> [UInt8] {
        var out: [UInt8] = []
        var j = s.start
        func hex(_ k: Int) -> UInt32 { (try? hex4(at: k)) ?? 0xFFFD }
        while j < s.end {
            let b = base[j]
            guard b == 0x5C else { out.append(b); j += 1; continue }
            let e = base[j + 1]
            j += 2
            switch e {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var v = hex(j)
                j += 4
                if v & 0xFC00 == 0xD800, j + 6 <= s.end, base[j] == 0x5C, base[j + 1] == 0x75, hex(j + 2) & 0xFC00 == 0xDC00 {
                    v = 0x10000 + (v - 0xD800) << 10 + (hex(j + 2) - 0xDC00)
                    j += 6
                }
                out.append(contentsOf: Array(String(Unicode.Scalar(v) ?? "\u{FFFD}").utf8))
            default: out.append(e)
            }
        }
        return out
    }
}
