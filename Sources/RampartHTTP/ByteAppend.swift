extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 bytes with one copy of its contiguous storage (native strings,
    /// small ones included, have it); `append(contentsOf: s.utf8)` walks the view instead, which
    /// costs several times more on every header written.
    @inlinable
    public mutating func appendUTF8(_ s: String) {
        var s = s
        s.withUTF8 { append(contentsOf: $0) }
    }
}

/// Copies `count` bytes between buffers that do not overlap. Header names and values are short
/// (a few to a few dozen bytes): overlapping word moves copy them inline, where a call to memmove
/// costs more than the copy itself.
@inlinable @inline(__always)
public func copyShortBytes(_ dst: UnsafeMutablePointer<UInt8>, _ src: UnsafePointer<UInt8>, _ count: Int) {
    let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
    if count >= 8 {
        guard count <= 32 else { dst.update(from: src, count: count); return }
        d.storeBytes(of: s.loadUnaligned(as: UInt64.self), as: UInt64.self)
        if count > 16 {
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: count &- 16, as: UInt64.self), toByteOffset: count &- 16, as: UInt64.self)
        }
        d.storeBytes(of: s.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self), toByteOffset: count &- 8, as: UInt64.self)
    } else if count >= 4 {
        d.storeBytes(of: s.loadUnaligned(as: UInt32.self), as: UInt32.self)
        d.storeBytes(of: s.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self), toByteOffset: count &- 4, as: UInt32.self)
    } else {
        var i = 0
        while i < count { dst[i] = src[i]; i &+= 1 }
    }
}

/// Writes a literal at `p` and returns the end.
@inline(__always)
func putLiteral(_ s: StaticString, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
    copyShortBytes(p, s.utf8Start, s.utf8CodeUnitCount)
    return p + s.utf8CodeUnitCount
}

extension StaticString {
    /// The literal's UTF-8 bytes.
    @inlinable var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: utf8Start, count: utf8CodeUnitCount) }
}

/// How many decimal digits `n` has (1 for 0): four digits a step, then compares.
@inlinable
public func decimalDigitCount(_ n: UInt) -> Int {
    var digits = 0
    var v = n
    while v >= 10_000 { v /= 10_000; digits &+= 4 }
    return digits &+ (v >= 1000 ? 4 : v >= 100 ? 3 : v >= 10 ? 2 : 1)
}

/// Writes `n` in decimal at `p`, which has room for `decimalDigitCount(n)` bytes, and returns the
/// end: the one digit writer behind the heads' lengths, the RateLimit values and the access line.
/// Two digits a step from a table of pairs (a division by 100 where there were two by 10).
@inlinable
public func writeDecimal(_ n: UInt, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
    let pairs: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    let table = pairs.utf8Start
    let end = p + decimalDigitCount(n)
    var v = n
    var i = end
    while v >= 100 {
        let q = v / 100
        let r = Int(truncatingIfNeeded: v &- q &* 100) &* 2
        i -= 2
        i[0] = table[r]; i[1] = table[r &+ 1]
        v = q
    }
    if v >= 10 {
        let r = Int(truncatingIfNeeded: v) &* 2
        i -= 2
        i[0] = table[r]; i[1] = table[r &+ 1]
    } else {
        i -= 1
        i[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v)
    }
    return end
}
