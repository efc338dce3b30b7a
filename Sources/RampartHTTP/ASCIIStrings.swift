// Case-insensitive comparisons on Strings for header names, done on UTF-8 bytes
// (header names are ASCII tokens; Unicode case folding would be wrong here).

extension String {
    /// ASCII-only case-insensitive equality; non-ASCII bytes must match exactly. Header lookups
    /// run it many times per request, so it works on the contiguous bytes (native strings, small
    /// ones included, always have them) and stops at the first differing length or byte.
    @inlinable
    public func asciiCaseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        if let r = a.withContiguousStorageIfAvailable({ pa in
            b.withContiguousStorageIfAvailable { pb in Self.asciiCaseInsensitiveEquals(pa, pb) }
        }), let equal = r {
            return equal
        }
        return zip(a, b).allSatisfy { x, y in x == y || Self.asciiLower(x) == Self.asciiLower(y) }
    }

    /// The same against a literal (header names known at compile time), with no String made.
    @inlinable
    public func asciiCaseInsensitiveEquals(_ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { lit in
            guard utf8.count == lit.count else { return false }
            return utf8.withContiguousStorageIfAvailable { Self.asciiCaseInsensitiveEquals($0, lit) }
                ?? zip(utf8, lit).allSatisfy { x, y in x == y || Self.asciiLower(x) == Self.asciiLower(y) }
        }
    }

    @inlinable
    static func asciiCaseInsensitiveEquals(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        ASCIIBytes.equalsIgnoringCase(a, b)
    }

    @inlinable @inline(__always)
    static func asciiLower(_ b: UInt8) -> UInt8 { ASCIIBytes.lower(b) }
}

extension StringProtocol {
    /// The value without its leading and trailing spaces and tabs (HTTP's optional whitespace).
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
