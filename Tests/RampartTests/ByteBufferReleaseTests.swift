import RampartLoop
import Testing

/// Idle keep-alive connections give their buffers back; the buffer must then behave exactly as a
/// fresh one when bytes come again.
@Suite struct ByteBufferReleaseTests {
    @Test func aReleasedBufferHoldsNoStorageAndComesBackOnWrite() {
        let b = ByteBuffer(capacity: 1024)
        b.append([1, 2, 3])
        b.release()
        #expect(b.hasStorage, "a buffer holding bytes keeps them")
        b.consume(3)
        b.release()
        #expect(!b.hasStorage && b.isEmpty && b.writableCount == 0)
        b.release()   // twice is harmless
        b.append(Array(repeating: 7, count: 3000))
        #expect(b.hasStorage && b.readableCount == 3000 && b.readable.allSatisfy { $0 == 7 })
        b.consume(3000)
        b.release()
        b.reserveWritable(16)
        #expect(b.writableCount >= 1024, "storage returns at the initial capacity")
    }
}
