// Pointer-level helpers shared by the parsers: fast line-feed search and
// String creation at the edges only.

extension UnsafeRawBufferPointer {
    /// Index of the first LF in `from..<to`, 8 bytes per step (SWAR zero-byte trick);
    /// heads are scanned again on every read, so this loop dominates incomplete parses.
    @inline(__always)
    func firstLF(from: Int, to end: Int) -> Int? {
        var i = from
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let pattern: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
        while i &+ 8 <= end {
            let word = UInt64(littleEndian: loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ pattern
            let found = (word &- ones) & ~word & highs
            if found != 0 { return i &+ (found.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < end {
            if self[i] == LF { return i }
            i &+= 1
        }
        return nil
    }

    /// Index of the first CR or LF in `from..<to` (SSE lines may end with either), 8 bytes per step.
    @inline(__always)
    func firstLineBreak(from: Int, to end: Int) -> Int? {
        var i = from
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i &+ 8 <= end {
            let w = UInt64(littleEndian: loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let lf = w ^ 0x0A0A_0A0A_0A0A_0A0A
            let cr = w ^ 0x0D0D_0D0D_0D0D_0D0D
            let found = ((lf &- ones) & ~lf | (cr &- ones) & ~cr) & highs
            if found != 0 { return i &+ (found.trailingZeroBitCount >> 3) }
            i &+= 8
        }
        while i < end {
            let c = self[i]
            if c == LF || c == CR { return i }
            i &+= 1
        }
        return nil
    }

    /// Skips bytes that are plain in a field value (0x20...0x7E and obs-text) 8 at a time and
    /// returns the index of the first other byte (CR, HTAB, CTL, DEL), or of the last partial
    /// word. Header values are most of a head's bytes (cookies, tokens), so this is the hot loop;
    /// the word that holds the value's CR points at it, so no byte of the value is read twice.
    @inline(__always)
    func skipPlainFieldBytes(from start: Int, sawHighBit: inout Bool) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = start
        var high: UInt64 = 0
        while i &+ 8 <= count {
            let w = UInt64(littleEndian: loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let control = (w &- 0x2020_2020_2020_2020) & ~w & highs
            let del = w ^ 0x7F7F_7F7F_7F7F_7F7F
            let isDel = (del &- ones) & ~del & highs
            let stops = control | isDel
            if stops != 0 {
                // The lowest flag is exact (a borrow only runs upward): bytes before it are plain.
                let k = stops.trailingZeroBitCount >> 3
                high |= w & ((UInt64(1) << UInt64(k &* 8)) &- 1)
                i &+= k
                break
            }
            high |= w
            i &+= 8
        }
        if high & highs != 0 { sawHighBit = true }
        return i
    }

    /// Decodes `range` as UTF-8 (ASCII in practice); the only place parsers build Strings.
    @inline(__always)
    func string(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: self[start..<end]), as: UTF8.self)
    }

    /// Same as `string` but lowercases ASCII on the way, for case-insensitive tokens.
    func lowercasedString(_ start: Int, _ end: Int) -> String {
        String(unsafeUninitializedCapacity: end - start) { out in
            var o = 0
            for i in start..<end {
                out[o] = ByteClass.lower(self[i])
                o += 1
            }
            return o
        }
    }

    /// ASCII case-insensitive compare of `start..<end` with a lowercase literal.
    @inline(__always)
    func equalsLowercase(_ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        ASCIIBytes.equalsLowercase(UnsafeRawBufferPointer(rebasing: self[start..<end]).assumingMemoryBound(to: UInt8.self), literal)
    }

    /// Exact byte compare of `start..<end` with a literal (methods are case-sensitive).
    @inline(__always)
    func equalsExact(_ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        guard end - start == literal.utf8CodeUnitCount else { return false }
        let lit = literal.utf8Start
        var i = 0
        while i < literal.utf8CodeUnitCount {
            if self[start + i] != lit[i] { return false }
            i += 1
        }
        return true
    }
}
