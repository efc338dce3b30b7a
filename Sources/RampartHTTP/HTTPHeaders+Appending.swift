// Several fields a stage writes at once (the five RateLimit fields of a quota route): one
// capacity check for all of them, and values written straight into the storage.

extension HTTPHeaders {
    /// Makes room for `count` fields of at most `bytes` bytes in all (names and values), then lets
    /// `write` append them through `FieldAppender` with no other check or copy. Every field is
    /// marked checked: the caller writes only bytes safe on the wire (digits, names it checked).
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
public struct FieldAppender {
    let counts: UnsafeMutablePointer<HeaderCounts>
    let entries: UnsafeMutablePointer<HeaderEntry>
    let bytes: UnsafeMutablePointer<UInt8>
    let entryLimit: Int
    let byteLimit: Int

    /// A field named by a literal (a token), with a value of at most `atMost` bytes that `value`
    /// writes at the pointer it gets, returning how many it wrote.
    public mutating func add(literal name: StaticString, valueAtMost atMost: Int, _ value: (UnsafeMutablePointer<UInt8>) -> Int) {
        let start = counts.pointee.byteCount
        let n = name.utf8CodeUnitCount
        precondition(counts.pointee.entryCount < entryLimit && start + n + atMost <= byteLimit, "FieldAppender: no room left")
        assert((0..<n).allSatisfy { ByteClass.isTChar(name.utf8Start[$0]) }, "header name literal is not a token")
        copyShortBytes(bytes + start, name.utf8Start, n)
        let written = value(bytes + start + n)
        precondition(written >= 0 && written <= atMost, "FieldAppender: the value overran its bound")
        assert((0..<written).allSatisfy { ByteClass.isFieldValueByte(bytes[start + n + $0]) }, "value not safe on the wire")
        counts.pointee.byteCount = start + n + written
        (entries + counts.pointee.entryCount).initialize(to: HeaderEntry(
            nameStart: start, nameCount: n, valueStart: start + n, valueCount: written, checked: true))
        counts.pointee.entryCount += 1
    }

    /// The same with a value already in bytes.
    public mutating func add(literal name: StaticString, checkedBytes value: UnsafeBufferPointer<UInt8>) {
        add(literal: name, valueAtMost: value.count) { p in
            if let v = value.baseAddress { copyShortBytes(p, v, value.count) }
            return value.count
        }
    }
}
