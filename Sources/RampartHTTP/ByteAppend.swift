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
