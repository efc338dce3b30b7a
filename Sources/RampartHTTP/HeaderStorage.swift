// The one buffer behind an `HTTPHeaders` value: field ranges at the front, name and value bytes
// after them, in a single allocation. Copied on write like an Array, but grown and written with
// plain memcpy: adding a field costs a capacity check and two copies, nothing generic.

/// Where one field's bytes are. The top bit of `valueWord` says the name and value are known safe
/// on the wire (the parsers checked every byte, or `HTTPField.checked` did): serialisers copy them
/// as is. The top bit of `nameWord` says the name alone is (a literal of Rampart's own code): the
/// value is still checked as it is copied. Bits 24...30 of `nameWord` hold the name's
/// `KnownHeaderName` when a parser classed it (0: not classed); names are far shorter than 2^24.
@usableFromInline struct HeaderEntry: Sendable {
    @usableFromInline var nameStart: UInt32
    @usableFromInline var nameWord: UInt32
    @usableFromInline var valueStart: UInt32
    @usableFromInline var valueWord: UInt32

    @usableFromInline static let checkedBit: UInt32 = 1 << 31
    @usableFromInline static let countMask: UInt32 = (1 << 24) - 1
    @usableFromInline static let classShift: UInt32 = 24

    @inlinable init(nameStart: Int, nameCount: Int, valueStart: Int, valueCount: Int, checked: Bool,
                    known: KnownHeaderName = .unclassified) {
        self.nameStart = UInt32(truncatingIfNeeded: nameStart)
        nameWord = UInt32(truncatingIfNeeded: nameCount) & Self.countMask | UInt32(known.rawValue) << Self.classShift
            | (checked ? Self.checkedBit : 0)
        self.valueStart = UInt32(truncatingIfNeeded: valueStart)
        valueWord = UInt32(truncatingIfNeeded: valueCount) | (checked ? Self.checkedBit : 0)
    }

    @inlinable var nameCount: Int { Int(nameWord & Self.countMask) }
    @inlinable var nameChecked: Bool { nameWord & Self.checkedBit != 0 }
    /// The class a parser gave the name; `.unclassified` for a field added later.
    @inlinable var known: KnownHeaderName {
        // Only `KnownHeaderName` raw values are ever stored in these bits.
        unsafeBitCast(UInt8(truncatingIfNeeded: (nameWord >> Self.classShift) & 0x7F), to: KnownHeaderName.self)
    }
    @inlinable var valueCount: Int { Int(valueWord & ~Self.checkedBit) }
    @inlinable var checked: Bool { valueWord & Self.checkedBit != 0 }

    @inlinable mutating func markNameChecked() { nameWord |= Self.checkedBit }

    @inlinable mutating func setValue(start: Int, count: Int, checked: Bool) {
        valueStart = UInt32(truncatingIfNeeded: start)
        valueWord = UInt32(truncatingIfNeeded: count) | (checked ? Self.checkedBit : 0)
    }
}

@usableFromInline struct HeaderCounts {
    @usableFromInline var entryCount: Int
    @usableFromInline var entryCapacity: Int
    @usableFromInline var byteCount: Int
    @usableFromInline var byteCapacity: Int
}

/// Never mutated while shared: `HTTPHeaders` copies it first (`isKnownUniquelyReferenced`), as
/// Array does, which is what makes sending a value across threads safe.
@usableFromInline final class HeaderStorage: ManagedBuffer<HeaderCounts, UInt8> {
    @usableFromInline static let entrySize = MemoryLayout<HeaderEntry>.stride

    @usableFromInline static func make(entryCapacity: Int, byteCapacity: Int) -> HeaderStorage {
        let buffer = HeaderStorage.create(minimumCapacity: entryCapacity * entrySize + byteCapacity) { _ in
            HeaderCounts(entryCount: 0, entryCapacity: entryCapacity, byteCount: 0, byteCapacity: byteCapacity)
        }
        let storage = unsafeDowncast(buffer, to: HeaderStorage.self)
        storage.withUnsafeMutablePointers { counts, elements in
            // malloc may have given more: the spare goes to the bytes.
            counts.pointee.byteCapacity = storage.capacity - entryCapacity * entrySize
            precondition(Int(bitPattern: elements) % MemoryLayout<HeaderEntry>.alignment == 0)
            _ = UnsafeMutableRawPointer(elements).bindMemory(to: HeaderEntry.self, capacity: entryCapacity)
        }
        return storage
    }

    /// A copy with room for at least the given capacities.
    @usableFromInline func copy(entryCapacity: Int, byteCapacity: Int) -> HeaderStorage {
        let new = HeaderStorage.make(entryCapacity: entryCapacity, byteCapacity: byteCapacity)
        withPointers { c, entries, bytes in
            new.withPointers { nc, nentries, nbytes in
                nentries.update(from: entries, count: c.pointee.entryCount)
                nbytes.update(from: bytes, count: c.pointee.byteCount)
                nc.pointee.entryCount = c.pointee.entryCount
                nc.pointee.byteCount = c.pointee.byteCount
            }
        }
        return new
    }

    /// The counts, read through the header pointer: `header` itself is a class property and
    /// would cost a dynamic exclusivity check on every read.
    @inlinable var counts: HeaderCounts { withUnsafeMutablePointerToHeader { $0.pointee } }

    @inlinable @inline(__always)
    func withPointers<R>(_ body: (UnsafeMutablePointer<HeaderCounts>, UnsafeMutablePointer<HeaderEntry>, UnsafeMutablePointer<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeMutablePointers { counts, elements in
            let entries = UnsafeMutableRawPointer(elements).assumingMemoryBound(to: HeaderEntry.self)
            return try body(counts, entries, elements + counts.pointee.entryCapacity * Self.entrySize)
        }
    }
}

