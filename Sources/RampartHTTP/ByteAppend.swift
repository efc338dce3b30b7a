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
