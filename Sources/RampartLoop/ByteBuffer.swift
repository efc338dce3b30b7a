import Glibc

/// A growable byte queue with separate read and write indices, backed by malloc'd memory so the
/// socket can read straight into its tail without zero-filling or copying (SwiftNIO's ByteBuffer idea).
public final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    /// 0 after `release()`: no storage until bytes are written again.
    private(set) var capacity: Int
    private(set) var readerIndex = 0
    private(set) var writerIndex = 0
    /// What storage starts at when it is allocated again after `release()`.
    private let initialCapacity: Int
    /// Stands in for storage while released: never written (capacity 0), never freed.
    nonisolated(unsafe) private static let noStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

    public init(capacity: Int = 16 * 1024) {
        self.capacity = max(capacity, 64)
        initialCapacity = self.capacity
        base = .allocate(capacity: self.capacity)
    }

    deinit { if capacity > 0 { base.deallocate() } }

    /// Gives the storage back while the buffer is empty, as nginx frees an idle keep-alive
    /// connection's buffers: thousands of idle connections then hold no buffer memory. The next
    /// write allocates again.
    public func release() {
        guard isEmpty, capacity > 0 else { return }
        base.deallocate()
        base = Self.noStorage
        capacity = 0
        readerIndex = 0; writerIndex = 0
    }

    /// Whether storage is held (false after `release()` until the next write).
    public var hasStorage: Bool { capacity > 0 }

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
        guard capacity > 0 else {
            capacity = max(initialCapacity, n)
            base = .allocate(capacity: capacity)
            return
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

}
