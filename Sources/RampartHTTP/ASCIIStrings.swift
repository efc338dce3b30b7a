// Case-insensitive comparisons on Strings for header names, done on UTF-8 bytes
// (header names are ASCII tokens; Unicode case folding would be wrong here).

extension String {
    /// ASCII-only case-insensitive equality; non-ASCII bytes must match exactly.
    func asciiCaseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        var ia = a.makeIterator(), ib = b.makeIterator()
        while let x = ia.next(), let y = ib.next() {
            if x != y && ByteClass.lower(x) != ByteClass.lower(y) { return false }
        }
        return true
    }
}
