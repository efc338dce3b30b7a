import RampartHTTP
import RampartLoop
import RampartTransport
import CLinux
import Glibc

/// Request ids: ULID-shaped (26 Crockford base32 chars: 48-bit ms time + 80 random bits), so they
/// sort by time in logs. The random part comes from a per-thread xorshift seeded by getrandom.
public enum RequestIDs {
    /// A literal, read through its pointer: no array, no lazy global, no bounds check per digit
    /// (every index is masked to 0...31).
    private static let alphabet: StaticString = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

    /// A fresh id, kept inline (`RequestID`): no String is made for it.
    public static func make() -> RequestID {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ms = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
        let (r1, r2) = ThreadRandom.next2()
        let digits = alphabet.utf8Start
        return RequestID { out in
            var t = ms
            for i in stride(from: 9, through: 0, by: -1) { out[i] = digits[Int(t & 31)]; t >>= 5 }
            var r = r1
            for i in 10..<23 { out[i] = digits[Int(r & 31)]; r >>= 5 }
            var q = r2
            for i in 23..<26 { out[i] = digits[Int(q & 31)]; q >>= 5 }
        }
    }
}

/// A fast non-cryptographic generator per thread (jitter, ids); never for secrets.
public enum ThreadRandom {
    public static func next() -> UInt64 {
        let p = state()
        var x = p.pointee
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        p.pointee = x
        return x
    }

    /// The thread's generator state (thread-local memory, `CLinux`), seeded by getrandom on first
    /// use. Never inlined: each object file gets its own copy of the C helper and its thread-local.
    @inline(never)
    private static func state() -> UnsafeMutablePointer<UInt64> {
        let p = rampart_thread_random_state()!
        if p.pointee == 0 { seed(p) }
        return p
    }

    private static func seed(_ p: UnsafeMutablePointer<UInt64>) {
        var seed: UInt64 = 0
        while seed == 0 { rampart_getrandom(&seed, 8) }
        p.pointee = seed
    }

    /// Two draws with one look-up of the thread's state.
    public static func next2() -> (UInt64, UInt64) {
        let p = state()
        var x = p.pointee
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        let first = x
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        p.pointee = x
        return (first, x)
    }

    /// Uniform in [0, 1).
    public static func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
