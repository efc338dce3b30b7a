// Adding, replacing and removing fields. Every change first makes the storage this value's own
// (copy on write) with room for what it adds; bytes are only ever appended, so a field that
// shares another's value bytes (X-Forwarded-Host and Host) keeps them whatever changes later.

extension HTTPHeaders {
    /// Makes the storage unique with room for `entries` more fields and `bytes` more bytes.
    @inlinable
    mutating func makeRoom(entries: Int, bytes: Int) {
        guard storage != nil else {
            // Room for what a stage adds in one go (five RateLimit fields come to about 200 bytes).
            storage = HeaderStorage.make(entryCapacity: Swift.max(entries, 8), byteCapacity: Swift.max(bytes, 256))
            return
        }
        let unique = isKnownUniquelyReferenced(&storage)
        let c = storage.unsafelyUnwrapped.counts
        let entriesFit = c.entryCount + entries <= c.entryCapacity
        let bytesFit = c.byteCount + bytes <= c.byteCapacity
        if unique && entriesFit && bytesFit { return }
        storage = storage.unsafelyUnwrapped.copy(
            entryCapacity: entriesFit ? c.entryCapacity : Swift.max(c.entryCapacity * 2, c.entryCount + entries),
            byteCapacity: bytesFit ? c.byteCapacity : Swift.max(c.byteCapacity * 2, c.byteCount + bytes))
    }

    @inlinable
    mutating func appendEntry(_ e: HeaderEntry) {
        makeRoom(entries: 1, bytes: 0)
        storage.unsafelyUnwrapped.withPointers { c, entries, _ in
            (entries + c.pointee.entryCount).initialize(to: e)
            c.pointee.entryCount += 1
        }
    }

    /// Appends a field from bytes; `checked`: they are known safe on the wire.
    @inlinable
    public mutating func add(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, checked: Bool) {
        makeRoom(entries: 1, bytes: name.count + value.count)
        storage.unsafelyUnwrapped.withPointers { c, entries, bytes in
            let start = c.pointee.byteCount
            if let n = name.baseAddress { copyShortBytes(bytes + start, n, name.count) }
            if let v = value.baseAddress { copyShortBytes(bytes + start + name.count, v, value.count) }
            c.pointee.byteCount = start + name.count + value.count
            (entries + c.pointee.entryCount).initialize(to: HeaderEntry(
                nameStart: start, nameCount: name.count, valueStart: start + name.count, valueCount: value.count, checked: checked))
            c.pointee.entryCount += 1
        }
    }

    /// Appends every field of `other` in order: one capacity check and two copies, so fields a
    /// config fixes once (security headers, Via) cost no per-field work on each response.
    public mutating func append(contentsOf other: HTTPHeaders) {
        guard other.storage != nil else { return }
        let o = other.storage.unsafelyUnwrapped
        let oc = o.counts
        makeRoom(entries: oc.entryCount, bytes: oc.byteCount)
        storage.unsafelyUnwrapped.withPointers { c, entries, bytes in
            o.withPointers { _, oentries, obytes in
                let base = c.pointee.byteCount
                (bytes + base).update(from: obytes, count: oc.byteCount)
                let shift = UInt32(truncatingIfNeeded: base)
                let dst = entries + c.pointee.entryCount
                for i in 0..<oc.entryCount {
                    var e = oentries[i]
                    e.nameStart &+= shift
                    e.valueStart &+= shift
                    (dst + i).initialize(to: e)
                }
                c.pointee.byteCount = base + oc.byteCount
                c.pointee.entryCount += oc.entryCount
            }
        }
    }

    /// Appends a field named by a literal (the fields a proxy hop adds): no String is read for the name.
    public mutating func add(literal name: StaticString, _ value: String) {
        var value = value
        value.withUTF8 { v in add(literal: name, bytes: v) }
    }

    /// The same with the value's bytes.
    /// The literal is Rampart's own, so its name is marked a token (checked in debug builds): the
    /// serialiser then copies the name and checks only the value.
    public mutating func add(literal name: StaticString, bytes value: UnsafeBufferPointer<UInt8>) {
        let n = name.bytes
        assert(ByteClass.isToken(n), "header name literal is not a token")
        add(name: n, value: value, checked: false)
        markLastNameChecked()
    }

    /// The same for a value Rampart wrote itself from bytes safe on the wire (digits, and names it
    /// checked once): the serialiser copies the field without looking at its bytes again.
    public mutating func add(literal name: StaticString, checkedBytes value: UnsafeBufferPointer<UInt8>) {
        let n = name.bytes
        assert(ByteClass.isToken(n), "header name literal is not a token")
        assert(ByteClass.isFieldValue(value), "value not safe on the wire")
        add(name: n, value: value, checked: true)
    }

    private mutating func markLastNameChecked() {
        storage.unsafelyUnwrapped.withPointers { c, entries, _ in entries[c.pointee.entryCount - 1].markNameChecked() }
    }

    /// The same with a literal value.
    public mutating func add(literal name: StaticString, literal value: StaticString) {
        add(literal: name, bytes: value.bytes)
    }

    /// Appends a field, keeping any existing ones with the same name.
    public mutating func add(_ name: String, _ value: String) {
        Self.withBytes(name) { n in Self.withBytes(value) { v in add(name: n, value: v, checked: false) } }
    }

    /// Appends a field as made (a checked field stays checked).
    public mutating func add(_ field: HTTPField) {
        Self.withBytes(field.name) { n in Self.withBytes(field.value) { v in add(name: n, value: v, checked: field.isWireChecked) } }
    }

    /// Appends a field named `name` whose value is field `i`'s, sharing its bytes.
    public mutating func add(name: [UInt8], valueOf i: Int) {
        let e = withFieldBytes { $0.entry(i) }
        name.withUnsafeBufferPointer { n in add(name: n, value: UnsafeBufferPointer(start: nil, count: 0), checked: e.checked) }
        storage.unsafelyUnwrapped.withPointers { c, entries, _ in
            entries[c.pointee.entryCount - 1].setValue(start: Int(e.valueStart), count: e.valueCount, checked: e.checked)
        }
    }

    /// Field `i` takes `value`, keeping its name; still checked when both were.
    public mutating func replaceValue(at i: Int, with value: UnsafeBufferPointer<UInt8>, checked: Bool) {
        precondition(i >= 0 && i < count, "header field index out of range")
        makeRoom(entries: 0, bytes: value.count)
        storage.unsafelyUnwrapped.withPointers { c, entries, bytes in
            let start = c.pointee.byteCount
            if let v = value.baseAddress { copyShortBytes(bytes + start, v, value.count) }
            c.pointee.byteCount = start + value.count
            entries[i].setValue(start: start, count: value.count, checked: entries[i].checked && checked)
        }
    }

    public mutating func replaceValue(at i: Int, with value: String) {
        Self.withBytes(value) { replaceValue(at: i, with: $0, checked: false) }
    }

    /// Replaces all `name` fields by one, at the position of the first (appended when absent).
    public mutating func set(_ name: String, _ value: String) {
        set(HTTPField(name: name, value: value))
    }

    /// The same with a field as made; the first existing field keeps its name's case.
    public mutating func set(_ field: HTTPField) {
        guard let first = firstIndex(field.name) else { add(field); return }
        Self.withBytes(field.value) { replaceValue(at: first, with: $0, checked: field.isWireChecked) }
        Self.withBytes(field.name) { n in
            var i = 0
            removeFields { name, _ in
                defer { i += 1 }
                return i > first && ASCIIBytes.equalsIgnoringCase(name, n)
            }
        }
    }

    public mutating func remove(_ name: String) {
        Self.withBytes(name) { n in removeFields { fname, _ in ASCIIBytes.equalsIgnoringCase(fname, n) } }
    }

    public mutating func remove(at i: Int) {
        precondition(i >= 0 && i < count, "header field index out of range")
        makeRoom(entries: 0, bytes: 0)
        storage.unsafelyUnwrapped.withPointers { c, entries, _ in
            let n = c.pointee.entryCount
            (entries + i).update(from: entries + i + 1, count: n - i - 1)
            c.pointee.entryCount = n - 1
        }
    }

    /// Drops the fields for which `shouldRemove(name, value)` holds, keeping the others' order.
    public mutating func removeFields(where shouldRemove: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> Bool) rethrows {
        try removeEntries { _, name, value in try shouldRemove(name, value) }
    }

    /// The same, telling each field's name class (`KnownHeaderName`, noted by the parser).
    public mutating func removeFields(
        whereKnown shouldRemove: (KnownHeaderName, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> Bool
    ) rethrows {
        try removeEntries { e, name, value in
            let k = e.known
            return try shouldRemove(k != .unclassified ? k : KnownHeaderName.classify(name), name, value)
        }
    }

    @inline(__always)
    private mutating func removeEntries(
        _ shouldRemove: (HeaderEntry, UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> Bool
    ) rethrows {
        guard count > 0 else { return }
        makeRoom(entries: 0, bytes: 0)
        try storage.unsafelyUnwrapped.withPointers { c, entries, bytes in
            var kept = 0
            for i in 0..<c.pointee.entryCount {
                let e = entries[i]
                let name = UnsafeBufferPointer(start: UnsafePointer(bytes) + Int(e.nameStart), count: e.nameCount)
                let value = UnsafeBufferPointer(start: UnsafePointer(bytes) + Int(e.valueStart), count: e.valueCount)
                if try shouldRemove(e, name, value) { continue }
                if kept != i { entries[kept] = e }
                kept += 1
            }
            c.pointee.entryCount = kept
        }
    }

    public mutating func removeAll(where shouldRemove: (HTTPField) throws -> Bool) rethrows {
        try removeFields { n, v in try shouldRemove(HTTPField(name: String(decoding: n, as: UTF8.self), value: String(decoding: v, as: UTF8.self))) }
    }
}
