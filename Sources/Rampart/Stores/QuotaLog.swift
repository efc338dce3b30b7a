import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The sliding-window log of one quota key: the times (whole milliseconds) of the hits still inside the
/// window, oldest first. A log, not a counter, because only the exact hit times make every window of
/// length `per` hold at most `limit` hits; a fixed window or a GCRA with burst = limit lets up to twice
/// the limit through around an edge.
///
/// Compact because there is one per user per quota: times are `UInt32` offsets from a per-log base in a
/// ring buffer that never holds more than `limit` live hits, and grows only as hits arrive, so a user
/// with one hit costs one small allocation. 32 bytes inline plus `4 × min(limit, hits)` on the heap.
public struct QuotaLog: Sendable {
    /// The window the log was last checked against, kept so a sweep or a restore can tell when it is spent.
    public private(set) var windowMs: Int64 = 0
    private var base: Int64 = 0
    private var ring: ContiguousArray<UInt32> = []
    private var head: Int32 = 0
    private var size: Int32 = 0

    public init() {}

    /// A log holding `stamps` (absolute ms, ascending), as read back from a snapshot.
    public init(windowMs: Int64, stamps: [Int64]) {
        self.windowMs = windowMs
        guard let first = stamps.first, let last = stamps.last else { return }
        base = max(first, last - Int64(UInt32.max))
        ring = ContiguousArray(stamps.map { UInt32(max($0, base) - base) })
        size = Int32(clamping: stamps.count)
    }

    public var count: Int { Int(size) }
    public var isEmpty: Bool { size == 0 }

    /// The `i`-th oldest hit, absolute ms.
    public func stamp(_ i: Int) -> Int64 { base + Int64(ring[(Int(head) + i) % ring.count]) }

    public var stamps: [Int64] { (0..<count).map(stamp) }

    /// When the newest hit leaves the window: from then on the log says nothing and can be dropped.
    public var expiresAt: Int64 { isEmpty ? Int64.min : stamp(count - 1) + windowMs }

    /// Drops the hits that have left the window ending at `nowMs` (a hit at t counts while now - t < window).
    public mutating func prune(nowMs: Int64, windowMs: Int64) {
        self.windowMs = windowMs
        while size > 0 && nowMs - stamp(0) >= windowMs {
            head = Int32((Int(head) + 1) % ring.count)
            size -= 1
        }
        if size == 0 { head = 0 }
    }

    /// When the log next has room under `limit` (absolute ms); only meaningful when it is full.
    /// A limit below 1 never has room: it asks the client back after a whole window.
    public func roomAt(limit: Int, nowMs: Int64) -> Int64 {
        guard limit >= 1 else { return nowMs + windowMs }
        guard count >= limit else { return nowMs }
        return stamp(count - limit) + windowMs
    }

    /// Records a hit. Times never go backwards inside a log (a clock stepped back counts the hit at the
    /// newest time, which only ever makes the quota stricter), so pruning from the front stays correct.
    public mutating func record(_ nowMs: Int64, limit: Int) {
        var t = nowMs
        if size == 0 { base = t; head = 0 } else { t = max(t, stamp(count - 1)) }
        if t - base > Int64(UInt32.max) { rebase(newest: t) }
        if count == ring.count { grow(limit: limit) }
        ring[(Int(head) + count) % ring.count] = UInt32(t - base)
        size += 1
    }

    /// Moves the base up to the oldest hit. Only windows over 49 days can still overflow; their oldest
    /// hits are then moved later (conservative: they count longer, never shorter).
    private mutating func rebase(newest t: Int64) {
        let newBase = max(stamp(0), t - Int64(UInt32.max))
        for i in 0..<count {
            let slot = (Int(head) + i) % ring.count
            ring[slot] = UInt32(max(base + Int64(ring[slot]), newBase) - newBase)
        }
        base = newBase
    }

    /// Reallocates the ring oldest-first, doubling up to `limit` (4 slots to start: most users make few requests).
    private mutating func grow(limit: Int) {
        let wanted = ring.isEmpty ? min(limit, 4) : min(limit, ring.count * 2)
        let capacity = max(wanted, ring.count + 1)
        var bigger = ContiguousArray<UInt32>()
        bigger.reserveCapacity(capacity)
        for i in 0..<count { bigger.append(ring[(Int(head) + i) % ring.count]) }
        while bigger.count < capacity { bigger.append(0) }
        ring = bigger
        head = 0
    }

    /// The client's view after pruning at `nowMs`.
    public func status(limit: Int, nowMs: Int64) -> QuotaStatus {
        let remaining = max(0, limit - count)
        let resetAt = isEmpty ? nowMs : remaining == 0 ? roomAt(limit: limit, nowMs: nowMs) : stamp(0) + windowMs
        return QuotaStatus(limit: limit, remaining: remaining, resetAfter: Double(resetAt - nowMs) / 1000,
                           window: Double(windowMs) / 1000)
    }
}
