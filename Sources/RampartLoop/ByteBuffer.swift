import CLinux
import Glibc

/// A growable byte queue with separate read and write indices, backed by malloc'd memory so the
/// socket can read straight into its tail without zero-filling or copying (SwiftNIO's ByteBuffer idea).
public final class ByteBuffer {
    // The state is read by inlined accessors in the transports (a call per `isEmpty` or
    // `readable` added up to hundreds of instructions a request). Loop-confined like its owner,
    // so no runtime exclusivity checks (see `EventLoop`).
    @usableFromInline @exclusivity(unchecked) var base: UnsafeMutablePointer<UInt8>
    /// 0 after `release()`: no storage until bytes are written again.
    @usableFromInline @exclusivity(unchecked) var capacity: Int
    @usableFromInline @exclusivity(unchecked) var readerIndex = 0
    @usableFromInline @exclusivity(unchecked) var writerIndex = 0
    /// What storage starts at when it is allocated again after `release()`.
    private let initialCapacity: Int
    /// Stands in for storage while released: never written (capacity 0), never freed.
    /// An address, not memory: a global would cost a `swift_once` check on every release.
    @inline(__always) private static var noStorage: UnsafeMutablePointer<UInt8> { UnsafeMutablePointer(bitPattern: 0x10).unsafelyUnwrapped }

    public init(capacity: Int = ByteBuffer.pooledSize) {
        self.capacity = max(capacity, 64)
        initialCapacity = self.capacity
        base = Self.allocate(self.capacity)
    }

    deinit { if capacity > 0 { Self.free(base, capacity) } }

    /// Buffers of this size come from and go back to the thread's `BufferPool`.
    public static let pooledSize = 16 * 1024

    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<UInt8> {
        if capacity == pooledSize, let p = BufferPool.take() { return p }
        return .allocate(capacity: capacity)
    }

    private static func free(_ p: UnsafeMutablePointer<UInt8>, _ capacity: Int) {
        if capacity == pooledSize, BufferPool.give(p) { return }
        p.deallocate()
    }

    /// Gives the storage back while the buffer is empty, as nginx frees an idle keep-alive
    /// connection's buffers: thousands of idle connections then hold no buffer memory. The next
    /// write allocates again.
    public func release() {
        guard isEmpty, capacity > 0 else { return }
        Self.free(base, capacity)
        base = Self.noStorage
        capacity = 0
        readerIndex = 0; writerIndex = 0
    }

    /// Whether storage is held (false after `release()` until the next write).
    @inlinable public var hasStorage: Bool { capacity > 0 }

    @inlinable public var readableCount: Int { writerIndex &- readerIndex }
    @inlinable public var isEmpty: Bool { writerIndex == readerIndex }
    @inlinable public var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + readerIndex, count: writerIndex &- readerIndex)
    }

    /// Makes room for at least `n` bytes after the writer index, compacting before growing.
    @inlinable public func reserveWritable(_ n: Int) {
        if capacity &- writerIndex >= n { return }
        makeRoom(n)
    }

    @usableFromInline func makeRoom(_ n: Int) {
        if readerIndex > 0 {
            let count = readableCount
            if count > 0 { memmove(base, base + readerIndex, count) }
            readerIndex = 0; writerIndex = count
            if capacity - writerIndex >= n { return }
        }
        guard capacity > 0 else {
            capacity = max(initialCapacity, n)
            base = Self.allocate(capacity)
            return
        }
        var newCapacity = capacity
        while newCapacity - writerIndex < n { newCapacity *= 2 }
        let fresh = Self.allocate(newCapacity)
        if writerIndex > 0 { fresh.update(from: base, count: writerIndex) }
        Self.free(base, capacity)
        base = fresh; capacity = newCapacity
    }

    @inlinable public var writableTail: UnsafeMutableRawPointer { UnsafeMutableRawPointer(base + writerIndex) }
    @inlinable public var writableCount: Int { capacity &- writerIndex }
    @inlinable public func didWrite(_ n: Int) { writerIndex &+= n }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserveWritable(bytes.count)
        (UnsafeMutableRawPointer(base + writerIndex)).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    public func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    @inlinable public func consume(_ n: Int) {
        readerIndex &+= n
        if readerIndex == writerIndex { readerIndex = 0; writerIndex = 0 }
    }
}

/// A per-thread free list of `ByteBuffer.pooledSize` buffers: a connection gives its buffer back
/// while it waits, and the next request on the same loop takes one from here instead of from
/// malloc (hundreds of instructions for a block that size, each way). Bounded, so thousands of
/// idle connections still hold no buffer memory. Plain thread-local memory (`CLinux`): no locks
/// (one thread uses it), no exclusivity checks, and no pthread_getspecific call per use.
/// `take` and `give` are never inlined: each object file gets its own copy of the C helper and of
/// its thread-local, so the pool is the one only while the helper is called from this file.
enum BufferPool {
    static let limit = Int(RAMPART_BUFFER_POOL_LIMIT)

    /// Slot 0 holds the count, slots 1...limit the buffers.
    @inline(__always)
    private static var slots: UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        UnsafeMutableRawPointer(rampart_buffer_pool_slots()!).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }

    @inline(never)
    static func take() -> UnsafeMutablePointer<UInt8>? {
        let s = slots
        let count = Int(bitPattern: s[0])
        guard count > 0 else { return nil }
        s[0] = UnsafeMutableRawPointer(bitPattern: count - 1)
        return s[count]?.assumingMemoryBound(to: UInt8.self)
    }

    /// False when the pool is full: the caller frees the buffer.
    @inline(never)
    static func give(_ p: UnsafeMutablePointer<UInt8>) -> Bool {
        let s = slots
        let count = Int(bitPattern: s[0])
        guard count < limit else { return false }
        s[count + 1] = UnsafeMutableRawPointer(p)
        s[0] = UnsafeMutableRawPointer(bitPattern: count + 1)
        return true
    }
}
