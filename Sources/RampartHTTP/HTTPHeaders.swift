/// Ordered header list with duplicates kept: order and repetition carry meaning
/// (Set-Cookie, Via, Connection) and a proxy must not reorder or merge them.
/// Name lookups are ASCII case-insensitive as RFC 9110 requires.
///
/// The fields live as bytes, the way nginx and HAProxy's HTX keep them: one buffer holds every
/// name and value, and each field is a pair of ranges into it. A parsed head copies its header
/// block in once; reading, dropping or forwarding a field then makes no `String` and touches no
/// reference count. Strings are made only for a caller that asks for one.
/// Sendable as Array is: the storage is copied before any change unless this value owns it alone.
public struct HTTPHeaders: @unchecked Sendable {
    /// nil until the first field: an empty head allocates nothing. A replaced or removed field
    /// leaves its bytes behind (a head is short-lived; compacting would cost more than the bytes).
    @usableFromInline var storage: HeaderStorage?

    public init() { storage = nil }

    public init(_ fields: [HTTPField]) {
        storage = nil
        for f in fields { add(f) }
    }

    /// A parsed head's header block, copied once with `spare` bytes of room for the fields a
    /// proxy adds (Via, the request id, security headers) so those do not regrow it.
    init(block: UnsafeRawBufferPointer, spare: Int, fieldCapacity: Int) {
        let s = HeaderStorage.make(entryCapacity: fieldCapacity, byteCapacity: block.count + spare)
        s.withPointers { c, _, bytes in
            if let src = block.baseAddress, block.count > 0 { bytes.update(from: src.assumingMemoryBound(to: UInt8.self), count: block.count) }
            c.pointee.byteCount = block.count
        }
        storage = s
    }

    /// Records a parsed field whose bytes are already in the block (offsets into it).
    /// Only the parser calls it, on storage it made: no uniqueness check while the room lasts.
    @inline(__always)
    mutating func appendParsed(name: Range<Int>, value: Range<Int>, known: KnownHeaderName) {
        let e = HeaderEntry(nameStart: name.lowerBound, nameCount: name.count, valueStart: value.lowerBound,
                            valueCount: value.count, checked: true, known: known)
        let added = storage.unsafelyUnwrapped.withPointers { c, entries, _ in
            guard c.pointee.entryCount < c.pointee.entryCapacity else { return false }
            (entries + c.pointee.entryCount).initialize(to: e)
            c.pointee.entryCount += 1
            return true
        }
        if !added { appendEntry(e) }
    }

    public var count: Int { storage == nil ? 0 : storage.unsafelyUnwrapped.counts.entryCount }
    public var isEmpty: Bool { count == 0 }

    // MARK: Reading

    /// Every field's bytes at once, for loops over the whole head (serialisers, forwarding rules).
    @inlinable
    public func withFieldBytes<R>(_ body: (FieldBytes) throws -> R) rethrows -> R {
        // Not `guard let`: binding the reference retains it, and `self` keeps it alive anyway.
        guard storage != nil else { return try body(FieldBytes(bytes: nil, entries: nil, count: 0)) }
        return try storage.unsafelyUnwrapped.withPointers { c, entries, bytes in
            try body(FieldBytes(bytes: UnsafePointer(bytes), entries: UnsafePointer(entries), count: c.pointee.entryCount))
        }
    }

    /// A read-only view of the fields' bytes; its buffers are valid inside `withFieldBytes` only.
    public struct FieldBytes {
        @usableFromInline let bytes: UnsafePointer<UInt8>?
        @usableFromInline let entries: UnsafePointer<HeaderEntry>?
        public let count: Int

        @usableFromInline init(bytes: UnsafePointer<UInt8>?, entries: UnsafePointer<HeaderEntry>?, count: Int) {
            self.bytes = bytes
            self.entries = entries
            self.count = count
        }

        @inlinable func entry(_ i: Int) -> HeaderEntry {
            precondition(i >= 0 && i < count, "header field index out of range")
            return entries.unsafelyUnwrapped[i]
        }

        @inlinable public func name(_ i: Int) -> UnsafeBufferPointer<UInt8> {
            let e = entry(i)
            return UnsafeBufferPointer(start: bytes.unsafelyUnwrapped + Int(e.nameStart), count: e.nameCount)
        }

        @inlinable public func value(_ i: Int) -> UnsafeBufferPointer<UInt8> {
            let e = entry(i)
            return UnsafeBufferPointer(start: bytes.unsafelyUnwrapped + Int(e.valueStart), count: e.valueCount)
        }

        @inlinable public func isChecked(_ i: Int) -> Bool { entry(i).checked }
        /// Field `i`'s name class: as the parser noted it, or told from its bytes now.
        @inlinable public func knownName(_ i: Int) -> KnownHeaderName {
            let k = entry(i).known
            return k != .unclassified ? k : KnownHeaderName.classify(name(i))
        }
        /// The name alone is known to be a token (a literal of Rampart's code).
        @inlinable public func isNameChecked(_ i: Int) -> Bool { entry(i).nameChecked }

        /// Field `i`'s name against a lowercase literal, ignoring ASCII case.
        @inlinable public func nameIs(_ i: Int, _ lowercase: StaticString) -> Bool {
            ASCIIBytes.equalsLowercase(name(i), lowercase)
        }

        /// Index of the first field named `name` (any case) from `start`.
        @inlinable public func firstIndex(of name: UnsafeBufferPointer<UInt8>, from start: Int = 0) -> Int? {
            var i = start
            while i < count {
                if ASCIIBytes.equalsIgnoringCase(self.name(i), name) { return i }
                i &+= 1
            }
            return nil
        }

        /// Bytes of every name and value plus 4 per field (": " and CRLF): a serialiser's bound.
        @inlinable public var lineBytes: Int {
            var n = 0
            for i in 0..<count { let e = entries.unsafelyUnwrapped[i]; n &+= e.nameCount &+ e.valueCount &+ 4 }
            return n
        }

        /// Writes every field as "name: value\r\n" at `p` (room for `lineBytes`), bytes as they are.
        @inlinable public func writeLines(to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
            var p = p
            for i in 0..<count {
                let n = name(i), v = value(i)
                if let b = n.baseAddress { copyShortBytes(p, b, n.count) }
                p += n.count
                p[0] = 0x3A; p[1] = 0x20; p += 2
                if let b = v.baseAddress { copyShortBytes(p, b, v.count) }
                p += v.count
                p[0] = 0x0D; p[1] = 0x0A; p += 2
            }
            return p
        }
    }

    /// The name and value bytes of field `i`, valid inside `body` only.
    @inlinable
    public func withField<R>(at i: Int, _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withFieldBytes { f in try body(f.name(i), f.value(i)) }
    }

    public func name(at i: Int) -> String { withField(at: i) { n, _ in String(decoding: n, as: UTF8.self) } }
    public func value(at i: Int) -> String { withField(at: i) { _, v in String(decoding: v, as: UTF8.self) } }

    public func field(at i: Int) -> HTTPField {
        withFieldBytes { f in
            var field = HTTPField(name: String(decoding: f.name(i), as: UTF8.self), value: String(decoding: f.value(i), as: UTF8.self))
            if f.isChecked(i) { field.markChecked() }
            return field
        }
    }

    /// Index of the first field named `name` (any case).
    public func firstIndex(_ name: String) -> Int? {
        Self.withBytes(name) { n in withFieldBytes { $0.firstIndex(of: n) } }
    }

    /// Index of the first field named `lowercase`, a lowercase literal (no String made).
    public func firstIndex(lowercase: StaticString) -> Int? {
        withFieldBytes { f in
            var i = 0
            while i < f.count {
                if f.nameIs(i, lowercase) { return i }
                i &+= 1
            }
            return nil
        }
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

    /// A String's UTF-8 bytes in place (native strings, small ones included, always have them).
    @inlinable @inline(__always)
    public static func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let r = try s.utf8.withContiguousStorageIfAvailable(body) { return r }
        return try Array(s.utf8).withUnsafeBufferPointer(body)
    }
}
