import RampartHTTP
import RampartLoop
import RampartTransport
/// A validating JSON reader that works directly on the request bytes.
///
/// Truncation must forward every byte it does not drop exactly as the client sent it, and must do so
/// for megabyte chat histories on the request path, so it cannot decode the body into a tree (slow, and
/// re-serialising would alter numbers, escapes and key order). This scanner walks the bytes once,
/// validating as it goes, and reports positions and sizes; it never allocates per byte.
struct TruncationScanner {
    /// Containers nested deeper than this are refused: the walk is recursive, and no chat payload
    /// needs more, so a hostile body cannot exhaust the stack.
    package static let maxDepth = 128

    package let base: UnsafePointer<UInt8>
    package let count: Int
    /// The next byte to read.
    package var i = 0

    package init(_ base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    /// The byte at `j`, or 0 past the end (0 is never valid where we look, so bounds errors become syntax errors).
    @inline(__always) package func at(_ j: Int) -> UInt8 { j < count ? base[j] : 0 }

    package func fail(_ what: String) -> TruncationError {
        i >= count ? .notJSON("unexpected end of input") : .notJSON("\(what) at byte \(i)")
    }

    @inline(__always) package mutating func skipWhitespace() {
        while i < count {
            let b = base[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    /// The next significant byte, not consumed.
    @inline(__always) package mutating func peek() throws(TruncationError) -> UInt8 {
        skipWhitespace()
        guard i < count else { throw fail("") }
        return base[i]
    }

    package mutating func expect(_ b: UInt8) throws(TruncationError) {
        guard try peek() == b else { throw fail("expected '\(Character(Unicode.Scalar(b)))'") }
        i += 1
    }

    /// Consumes `{` or `[` of a container at nesting level `depth` (the root is 1); false when it is
    /// empty, in which case the closer is consumed too.
    package mutating func open(_ opener: UInt8, depth: Int) throws(TruncationError) -> Bool {
        guard depth <= Self.maxDepth else { throw .tooDeep }
        try expect(opener)
        // `}` and `]` are two code points after `{` and `[`.
        guard try peek() == opener + 2 else { return true }
        i += 1
        return false
    }

    /// After a member or element: consumes `,` (true, more follow) or the closer (false).
    package mutating func next(_ closer: UInt8) throws(TruncationError) -> Bool {
        let b = try peek()
        if b == 0x2C { i += 1; return true }
        if b == closer { i += 1; return false }
        throw fail("expected ',' or '\(Character(Unicode.Scalar(closer)))'")
    }

    /// An object key and its colon.
    package mutating func key() throws(TruncationError) -> TruncationString {
        let s = try string()
        try expect(0x3A)
        return s
    }

    /// Skips (and validates) any value.
    mutating func skipValue(depth: Int) throws(TruncationError) {
        switch try peek() {
        case 0x7B: // {
            if try open(0x7B, depth: depth) {
                repeat { _ = try key(); try skipValue(depth: depth + 1) } while try next(0x7D)
            }
        case 0x5B: // [
            if try open(0x5B, depth: depth) {
                repeat { try skipValue(depth: depth + 1) } while try next(0x5D)
            }
        case 0x22: _ = try string()
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        default: try number()
        }
    }

    package mutating func literal(_ word: StaticString) throws(TruncationError) {
        let n = word.utf8CodeUnitCount
        for k in 0..<n where at(i + k) != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
    }

    /// RFC 8259 grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    package mutating func number() throws(TruncationError) {
        if at(i) == 0x2D { i += 1 }
        if at(i) == 0x30 { i += 1 } else { try digits() }
        if at(i) == 0x2E { i += 1; try digits() }
        if at(i) | 0x20 == 0x65 {
            i += 1
            if at(i) == 0x2B || at(i) == 0x2D { i += 1 }
            try digits()
        }
    }

    /// One or more decimal digits.
    package mutating func digits() throws(TruncationError) {
        guard at(i) &- 0x30 < 10 else { throw fail("invalid value") }
        repeat { i += 1 } while at(i) &- 0x30 < 10
    }
}
