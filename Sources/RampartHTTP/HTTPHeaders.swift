/// Ordered header list with duplicates kept: order and repetition carry meaning
/// (Set-Cookie, Via, Connection) and a proxy must not reorder or merge them.
/// Name lookups are ASCII case-insensitive as RFC 9110 requires.
///
/// The fields live as bytes, the way nginx and HAProxy's HTX keep them: one buffer holds every
/// name and value, and each field is a pair of ranges into it. A parsed head copies its header
/// block in once; reading, dropping or forwarding a field then makes no `String` and touches no
/// reference count. Strings are made only for a caller that asks for one.
public struct HTTPHeaders: Sendable {
    /// Name and value bytes of every field. A replaced or removed field leaves its bytes behind
    /// (a head is short-lived; compacting would cost more than the bytes).
    @usableFromInline var storage: [UInt8]
    @usableFromInline var entries: [Entry]

    /// Where one field's bytes are, and whether they are known safe on the wire: the parsers
    /// checked every byte, or `HTTPField.checked` did, so serialisers copy it as is.
    @usableFromInline struct Entry: Sendable {
        @usableFromInline var nameStart: UInt32
        @usableFromInline var nameCount: UInt32
        @usableFromInline var valueStart: UInt32
        @usableFromInline var valueCount: UInt32
        @usableFromInline var checked: Bool
    }

    public init() {
        storage = []
        entries = []
    }

    public init(_ fields: [HTTPField]) {
        self.init()
        entries.reserveCapacity(fields.count)
        for f in fields { add(f) }
    }

    /// A parsed head's header block, copied once with `spare` bytes of room for the fields a
    /// proxy adds (Via, the request id, security headers) so those do not regrow it.
    init(block: UnsafeRawBufferPointer, spare: Int, fieldCapacity: Int) {
        storage = [UInt8](unsafeUninitializedCapacity: block.count + spare) { buf, n in
            if let src = block.baseAddress, block.count > 0 { buf.baseAddress!.update(from: src.assumingMemoryBound(to: UInt8.self), count: block.count) }
            n = block.count
        }
        entries = []
        entries.reserveCapacity(fieldCapacity)
    }

    /// Records a parsed field whose bytes are already in `storage` (offsets into the block).
    @inline(__always)
    mutating func appendParsed(name: Range<Int>, value: Range<Int>) {
        entries.append(Entry(nameStart: UInt32(truncatingIfNeeded: name.lowerBound), nameCount: UInt32(truncatingIfNeeded: name.count),
                             valueStart: UInt32(truncatingIfNeeded: value.lowerBound), valueCount: UInt32(truncatingIfNeeded: value.count),
                             checked: true))
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    // MARK: Reading one field

    public func name(at i: Int) -> String { withField(at: i) { n, _ in String(decoding: n, as: UTF8.self) } }
    public func value(at i: Int) -> String { withField(at: i) { _, v in String(decoding: v, as: UTF8.self) } }

    public func field(at i: Int) -> HTTPField {
        var f = HTTPField(name: name(at: i), value: value(at: i))
        if entries[i].checked { f.markChecked() }
        return f
    }

    /// The name and value bytes of field `i`, valid inside `body` only.
    @inlinable
    public func withField<R>(at i: Int, _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let e = entries[i]
        return try storage.withUnsafeBufferPointer { s in
            try body(Self.slice(s, e.nameStart, e.nameCount), Self.slice(s, e.valueStart, e.valueCount))
        }
    }

    /// Every field's bytes at once, for loops over the whole head (serialisers, forwarding rules).
    @inlinable
    public func withFieldBytes<R>(_ body: (FieldBytes) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { s in
            try entries.withUnsafeBufferPointer { e in try body(FieldBytes(storage: s, entries: e)) }
        }
    }

    /// A read-only view of the fields' bytes; its buffers are valid inside `withFieldBytes` only.
    public struct FieldBytes {
        @usableFromInline let storage: UnsafeBufferPointer<UInt8>
        @usableFromInline let entries: UnsafeBufferPointer<Entry>

        @usableFromInline init(storage: UnsafeBufferPointer<UInt8>, entries: UnsafeBufferPointer<Entry>) {
            self.storage = storage
            self.entries = entries
        }

        @inlinable public var count: Int { entries.count }
        @inlinable public func name(_ i: Int) -> UnsafeBufferPointer<UInt8> { HTTPHeaders.slice(storage, entries[i].nameStart, entries[i].nameCount) }
        @inlinable public func value(_ i: Int) -> UnsafeBufferPointer<UInt8> { HTTPHeaders.slice(storage, entries[i].valueStart, entries[i].valueCount) }
        @inlinable public func isChecked(_ i: Int) -> Bool { entries[i].checked }
        /// Field `i`'s name against a lowercase literal, ignoring ASCII case.
        @inlinable public func nameIs(_ i: Int, _ lowercase: StaticString) -> Bool {
            ASCIIBytes.equalsLowercase(name(i), lowercase)
        }
    }

    @inlinable @inline(__always)
    static func slice(_ s: UnsafeBufferPointer<UInt8>, _ start: UInt32, _ count: UInt32) -> UnsafeBufferPointer<UInt8> {
        guard count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: s.baseAddress! + Int(start), count: Int(count))
    }

    // MARK: Lookups

    /// Index of the first field named `name` (any case).
    public func firstIndex(_ name: String) -> Int? {
        Self.withBytes(name) { n in withFieldBytes { f in (0..<f.count).first { ASCIIBytes.equalsIgnoringCase(f.name($0), n) } } }
    }

    /// Index of the first field named `lowercase`, a lowercase literal (no String made).
    public func firstIndex(lowercase: StaticString) -> Int? {
        withFieldBytes { f in (0..<f.count).first { f.nameIs($0, lowercase) } }
    }

    /// First value for `name`, nil when absent.
    public subscript(name: String) -> String? {
        firstIndex(name).map { value(at: $0) }
    }

    /// All values for `name`, in order.
    public func values(_ name: String) -> [String] {
        Self.withBytes(name) { n in
            withFieldBytes { f in
                (0..<f.count).compactMap { ASCIIBytes.equalsIgnoringCase(f.name($0), n) ? String(decoding: f.value($0), as: UTF8.self) : nil }
            }
        }
    }

    public func contains(_ name: String) -> Bool { firstIndex(name) != nil }

    // MARK: Adding and replacing

    /// Appends a field, keeping any existing ones with the same name.
    public mutating func add(_ name: String, _ value: String) {
        Self.withBytes(name) { n in Self.withBytes(value) { v in add(name: n, value: v, checked: false) } }
    }

    /// Appends a field as made (a checked field stays checked).
    public mutating func add(_ field: HTTPField) {
        Self.withBytes(field.name) { n in Self.withBytes(field.value) { v in add(name: n, value: v, checked: field.isWireChecked) } }
    }

    /// Appends a field from bytes; `checked`: they are known safe on the wire.
    public mutating func add(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>, checked: Bool) {
        let start = storage.count
        storage.append(contentsOf: name)
        storage.append(contentsOf: value)
        entries.append(Entry(nameStart: UInt32(truncatingIfNeeded: start), nameCount: UInt32(truncatingIfNeeded: name.count),
                             valueStart: UInt32(truncatingIfNeeded: start + name.count), valueCount: UInt32(truncatingIfNeeded: value.count),
                             checked: checked))
    }

    /// Appends a field named `name` whose value is field `i`'s, sharing its bytes (stored bytes
    /// never change, so both fields keep theirs whatever is replaced later).
    public mutating func add(name: [UInt8], valueOf i: Int) {
        let e = entries[i]
        let start = storage.count
        storage.append(contentsOf: name)
        entries.append(Entry(nameStart: UInt32(truncatingIfNeeded: start), nameCount: UInt32(truncatingIfNeeded: name.count),
                             valueStart: e.valueStart, valueCount: e.valueCount, checked: e.checked))
    }

    public mutating func remove(at i: Int) { entries.remove(at: i) }

    /// Field `i` takes `value`, keeping its name; still checked when both were.
    public mutating func replaceValue(at i: Int, with value: UnsafeBufferPointer<UInt8>, checked: Bool) {
        let start = storage.count
        storage.append(contentsOf: value)
        entries[i].valueStart = UInt32(truncatingIfNeeded: start)
        entries[i].valueCount = UInt32(truncatingIfNeeded: value.count)
        entries[i].checked = entries[i].checked && checked
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
        guard first + 1 < entries.count else { return }
        let later = Self.withBytes(field.name) { n in
            withFieldBytes { f in (first + 1..<f.count).filter { ASCIIBytes.equalsIgnoringCase(f.name($0), n) } }
        }
        for i in later.reversed() { entries.remove(at: i) }
    }

    // MARK: Removing

    public mutating func remove(_ name: String) {
        Self.withBytes(name) { n in removeFields { fname, _ in ASCIIBytes.equalsIgnoringCase(fname, n) } }
    }

    /// Drops the fields for which `shouldRemove(name, value)` holds, keeping the others' order.
    public mutating func removeFields(where shouldRemove: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> Bool) rethrows {
        let s = storage
        try s.withUnsafeBufferPointer { s in
            try entries.removeAll { e in try shouldRemove(Self.slice(s, e.nameStart, e.nameCount), Self.slice(s, e.valueStart, e.valueCount)) }
        }
    }

    public mutating func removeAll(where shouldRemove: (HTTPField) throws -> Bool) rethrows {
        let s = storage
        try s.withUnsafeBufferPointer { s in
            try entries.removeAll { e in
                var f = HTTPField(name: String(decoding: Self.slice(s, e.nameStart, e.nameCount), as: UTF8.self),
                                  value: String(decoding: Self.slice(s, e.valueStart, e.valueCount), as: UTF8.self))
                if e.checked { f.markChecked() }
                return try shouldRemove(f)
            }
        }
    }

    /// A String's UTF-8 bytes in place (native strings, small ones included, always have them).
    @inlinable @inline(__always)
    public static func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let r = try s.utf8.withContiguousStorageIfAvailable(body) { return r }
        return try Array(s.utf8).withUnsafeBufferPointer(body)
    }
}
