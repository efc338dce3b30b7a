import Glibc

/// A growable byte queue with separate read and write indices, backed by malloc'd memory so the
/// socket can read straight into its tail without zero-filling or copying (SwiftNIO's ByteBuffer idea).
public final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    private(set) var readerIndex = 0
    private(set) var writerIndex = 0

    public init(capacity: Int = 16 * 1024) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public var readableCount: Int { writerIndex - readerIndex }
    public var isEmpty: Bool { writerIndex == readerIndex }
    public var readable: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + readerIndex, count: writerIndex - readerIndex) }

    /// Makes room for at least `n` bytes after the writer index, compacting before growing.
    public func reserveWritable(_ n: Int) {
        if capacity - writerIndex >= n { return }
        if readerIndex > 0 {
            let count = readableCount
            if count > 0 { memmove(base, base + readerIndex, count) }
            readerIndex = 0; writerIndex = count
            if capacity - writerIndex >= n { return }
        }
        var newCapacity = capacity
        while newCapacity - writerIndex < n { newCapacity *= 2 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        if writerIndex > 0 { fresh.update(from: base, count: writerIndex) }
        base.deallocate()
        base = fresh; capacity = newCapacity
    }

    public var writableTail: UnsafeMutableRawPointer { UnsafeMutableRawPointer(base + writerIndex) }
    public var writableCount: Int { capacity - writerIndex }
    public func didWrite(_ n: Int) { writerIndex += n }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserveWritable(bytes.count)
        (UnsafeMutableRawPointer(base + writerIndex)).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    public func consume(_ n: Int) {
        readerIndex += n
        if readerIndex == writerIndex { readerIndex = 0; writerIndex = 0 }
    }

    /// Releases a large buffer after a big transfer so idle connections stay small.
    public func shrinkIfIdle(limit: Int = 64 * 1024, to size: Int = 16 * 1024) {
        guard isEmpty, capacity > limit else { return }
        base.deallocate()
        capacity = size
        base = .allocate(capacity: size)
        readerIndex = 0; writerIndex = 0
    }
}
