// Several fields a stage writes at once (the five RateLimit fields of a quota route): one
// capacity check for all of them, and values written straight into the storage.

extension HTTPHeaders {
    /// Makes room for `count` fields of at most `bytes` bytes in all (names and values), then lets
    /// `write` append them through `FieldAppender` with no other check or copy. Every field is
    /// marked checked: the caller writes only bytes safe on the wire (digits, names it checked).
    @inlinable
    public mutating func appendFields(count: Int, bytes: Int, _ write: (inout FieldAppender) -> Void) {
        makeRoom(entries: count, bytes: bytes)
        storage.unsafelyUnwrapped.withPointers { c, entries, base in
            var appender = FieldAppender(counts: c, entries: entries, bytes: base,
                                         entryLimit: c.pointee.entryCount + count, byteLimit: c.pointee.byteCount + bytes)
            write(&appender)
        }
    }
}

/// Appends fields into room `HTTPHeaders.appendFields` made; past that room it traps rather
/// than write out of bounds.
/// Inlinable, so the callers' value writers inline into it (no closure context per field).
public struct FieldAppender {
    @usableFromInline let counts: UnsafeMutablePointer<HeaderCounts>
    @usableFromInline let entries: UnsafeMutablePointer<HeaderEntry>
    @usableFromInline let bytes: UnsafeMutablePointer<UInt8>
    @usableFromInline let entryLimit: Int
    @usableFromInline let byteLimit: Int

    @inlinable
    init(counts: UnsafeMutablePointer<HeaderCounts>, entries: UnsafeMutablePointer<HeaderEntry>, bytes: UnsafeMutablePointer<UInt8>,
         entryLimit: Int, byteLimit: Int) {
        self.counts = counts; self.entries = entries; self.bytes = bytes; self.entryLimit = entryLimit; self.byteLimit = byteLimit
    }

    /// A field named by a literal (a token), with a value of at most `atMost` bytes that `value`
    /// writes at the pointer it gets, returning how many it wrote.
    @inlinable
    public mutating func add(literal name: StaticString, valueAtMost atMost: Int, _ value: (UnsafeMutablePointer<UInt8>) -> Int) {
        let start = counts.pointee.byteCount
        let n = name.utf8CodeUnitCount
        precondition(counts.pointee.entryCount < entryLimit && start + n + atMost <= byteLimit, "FieldAppender: no room left")
        assert(ByteClass.isToken(name.bytes), "header name literal is not a token")
        copyShortBytes(bytes + start, name.utf8Start, n)
        let written = value(bytes + start + n)
        precondition(written >= 0 && written <= atMost, "FieldAppender: the value overran its bound")
        assert(ByteClass.isFieldValue(UnsafeBufferPointer(start: bytes + start + n, count: written)), "value not safe on the wire")
        counts.pointee.byteCount = start + n + written
        (entries + counts.pointee.entryCount).initialize(to: HeaderEntry(
            nameStart: start, nameCount: n, valueStart: start + n, valueCount: written, checked: true))
        counts.pointee.entryCount += 1
    }

    /// The same with a value already in bytes.
    @inlinable
    public mutating func add(literal name: StaticString, checkedBytes value: UnsafeBufferPointer<UInt8>) {
        add(literal: name, valueAtMost: value.count) { p in
            if let v = value.baseAddress { copyShortBytes(p, v, value.count) }
            return value.count
        }
    }
}
