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
/// with one hit costs one small allocation. 40 bytes inline plus `4 × min(limit, hits)` on the heap.
///
/// A token quota's log (SPEC §11.2) is the same log with a weight per entry: the tokens one call was
/// charged, in a second ring parallel to the first, so the window's use is the sum of the weights still
/// inside it. Request logs never allocate that ring (an entry without a weight weighs 1).
public struct QuotaLog: Sendable {
    /// The window the log was last checked against, kept so a sweep or a restore can tell when it is spent.
    public private(set) var windowMs: Int64 = 0
    private var base: Int64 = 0
    private var ring: ContiguousArray<UInt32> = []
    private var head: Int32 = 0
    private var size: Int32 = 0
    /// Token logs only: each entry's tokens, at the same slots as `ring`.
    private var amounts: ContiguousArray<UInt32>?

    public init() {}

    /// A log holding `stamps` (absolute ms, ascending) and, for a token log, each one's tokens, as read
    /// back from a snapshot.
    public init(windowMs: Int64, stamps: [Int64], amounts: [Int]? = nil) {
        self.windowMs = windowMs
        guard let first = stamps.first, let last = stamps.last else { return }
        base = max(first, last - Int64(UInt32.max))
        ring = ContiguousArray(stamps.map { UInt32(max($0, base) - base) })
        size = Int32(clamping: stamps.count)
        if let amounts {
            self.amounts = ContiguousArray(stamps.indices.map { UInt32(clamping: $0 < amounts.count ? amounts[$0] : 1) })
        }
    }

    public var count: Int { Int(size) }
    public var isEmpty: Bool { size == 0 }

    /// The `i`-th oldest hit, absolute ms.
    public func stamp(_ i: Int) -> Int64 { base + Int64(ring[(Int(head) + i) % ring.count]) }

    public var stamps: [Int64] { (0..<count).map(stamp) }

    /// The `i`-th oldest entry's tokens (1 for a hit: an entry without a weight).
    public func amount(_ i: Int) -> Int {
        guard let amounts else { return 1 }
        return Int(amounts[(Int(head) + i) % ring.count])
    }

    /// Each entry's tokens, oldest first; nil for a request log (for the snapshot).
    public var weights: [Int]? { amounts == nil ? nil : (0..<count).map(amount) }

    /// What the window holds in the quota's unit: hits, or the tokens charged. Weights are read only
    /// for tokens, so a log charged under one unit and checked under another (a reload changed the
    /// quota) counts each entry as 1 request, or each unweighted hit as 1 token: both stores agree.
    /// Hits, or tokens for a token log: what the admin API shows as `used`.
    public var total: Int { used(.tokens) }

    public func used(_ unit: QuotaConfig.Unit) -> Int {
        guard unit == .tokens, amounts != nil else { return count }
        var total = 0
        for i in 0..<count { total += amount(i) }
        return total
    }

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
    /// A limit below 1 never has room: it asks the client back after a whole window. For tokens: when
    /// enough of the oldest charges have left the window for the rest to be under the limit.
    public func roomAt(limit: Int, nowMs: Int64, unit: QuotaConfig.Unit = .requests) -> Int64 {
        guard limit >= 1 else { return nowMs + windowMs }
        if unit == .tokens && amounts != nil {
            var left = used(.tokens)
            guard left >= limit else { return nowMs }
            for i in 0..<count {
                left -= amount(i)
                if left < limit { return stamp(i) + windowMs }
            }
            return nowMs
        }
        guard count >= limit else { return nowMs }
        return stamp(count - limit) + windowMs
    }

    /// Records a hit. Times never go backwards inside a log (a clock stepped back counts the hit at the
    /// newest time, which only ever makes the quota stricter), so pruning from the front stays correct.
    public mutating func record(_ nowMs: Int64, limit: Int) {
        append(nowMs, amount: 1, growLimit: limit)
    }

    /// Charges `tokens` at `nowMs` (a token quota, after the call). The log grows with the calls, not
    /// up to a limit: calls let in together before any was charged may each add an entry.
    public mutating func charge(_ nowMs: Int64, tokens: Int) {
        if amounts == nil { amounts = ContiguousArray(repeating: 1, count: ring.count) }
        append(nowMs, amount: UInt32(clamping: tokens), growLimit: Int.max)
    }

    /// Adds an entry at max(now, newest) (see `record`), with its weight when the log keeps weights.
    private mutating func append(_ nowMs: Int64, amount: UInt32, growLimit: Int) {
        var t = nowMs
        if size == 0 { base = t; head = 0 } else { t = max(t, stamp(count - 1)) }
        if t - base > Int64(UInt32.max) { rebase(newest: t) }
        if count == ring.count { grow(limit: growLimit) }
        let slot = (Int(head) + count) % ring.count
        ring[slot] = UInt32(t - base)
        amounts?[slot] = amount
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
        if amounts != nil {
            var weights = ContiguousArray((0..<count).map { UInt32(amount($0)) })
            while weights.count < capacity { weights.append(1) }
            amounts = weights
        }
        ring = bigger
        head = 0
    }

    /// The client's view after pruning at `nowMs` (limit and remaining in the quota's unit).
    public func status(limit: Int, nowMs: Int64, unit: QuotaConfig.Unit = .requests) -> QuotaStatus {
        let remaining = max(0, limit - used(unit))
        let resetAt = isEmpty ? nowMs : remaining == 0 ? roomAt(limit: limit, nowMs: nowMs, unit: unit) : stamp(0) + windowMs
        return QuotaStatus(limit: limit, remaining: remaining, resetAfter: Double(resetAt - nowMs) / 1000,
                           window: Double(windowMs) / 1000)
    }
}
