import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Synchronization

/// One lock's worth of quota logs. The store spreads identities over many shards so worker loops
/// rarely wait on each other, while all of one identity's logs share a shard (one lock per request).
final class QuotaShard: Sendable {
    let state: Lock<QuotaShardState>

    init(capacity: Int) { state = Lock(QuotaShardState(capacity: capacity)) }
}

/// The logs of a shard, and when to look for expired ones next.
///
/// Expiry is amortised rather than timed: a shard sweeps when it has doubled since its last sweep or a
/// minute has passed (checked on access; `persist` sweeps every shard too), so the amortised cost per
/// request is O(1) and one sweep pauses only this shard, about 1/64 of the keys.
struct QuotaShardState {
    var map: [QuotaKey: QuotaLog] = [:]
    /// The most keys the shard keeps; beyond it the keys whose hits expire soonest are forgotten.
    let capacity: Int
    private var sweepAtCount: Int
    private var sweepAtMs: Int64 = Int64.min
    /// No log expires before this (a lower bound: logs only ever expire later than when they were put),
    /// so a due sweep that cannot find anything costs nothing.
    private var earliestExpiry = Int64.max

    static let minSweepCount = 1024
    static let sweepIntervalMs: Int64 = 60_000

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        sweepAtCount = min(Self.minSweepCount, self.capacity)
    }

    /// Runs `body` on a key's log in place (one hash lookup for a known key, and no copy-on-write),
    /// then keeps it as `put` would: an empty log is dropped.
    mutating func withLog<R>(_ key: QuotaKey, _ body: (inout QuotaLog) -> R) -> R {
        guard let i = map.index(forKey: key) else {
            var log = QuotaLog()
            let result = body(&log)
            put(key, log)
            return result
        }
        let result = body(&map.values[i])
        if map.values[i].isEmpty { map.remove(at: i) } else { earliestExpiry = min(earliestExpiry, map.values[i].expiresAt) }
        return result
    }

    /// Moves a key's log out (no copy-on-write while the decision mutates it); empty if absent.
    mutating func take(_ key: QuotaKey) -> QuotaLog { map.removeValue(forKey: key) ?? QuotaLog() }

    /// Puts a log back; an empty log is dropped, so a refused or peeked-at stranger leaves no entry.
    mutating func put(_ key: QuotaKey, _ log: QuotaLog) {
        guard !log.isEmpty else { return }
        map[key] = log
        earliestExpiry = min(earliestExpiry, log.expiresAt)
    }

    /// Sweeps when due, then enforces the key cap.
    mutating func maintain(nowMs: Int64) {
        guard map.count >= sweepAtCount || nowMs >= sweepAtMs else { return }
        sweep(nowMs: nowMs)
        if map.count > capacity { evict() }
        sweepAtCount = min(capacity, max(Self.minSweepCount, map.count * 2))
        sweepAtMs = nowMs + Self.sweepIntervalMs
    }

    /// Drops every log whose newest hit has left its window (it would not refuse anything any more).
    mutating func sweep(nowMs: Int64) {
        guard nowMs >= earliestExpiry else { return }
        var expired: [QuotaKey] = []
        var earliest = Int64.max
        for (key, log) in map {
            let at = log.expiresAt
            if at <= nowMs { expired.append(key) } else { earliest = min(earliest, at) }
        }
        earliestExpiry = earliest
        if expired.count * 4 >= map.count {
            map = map.filter { $0.value.expiresAt > nowMs }   // rebuilt: gives the freed table memory back
        } else {
            for key in expired { map.removeValue(forKey: key) }
        }
    }

    /// Over the cap with nothing expired (a flood of distinct identities): forget the logs that would
    /// expire soonest, plus 1/64 of the cap of slack so the next evictions are not one key at a time.
    /// Those users get their quota back early; memory stays bounded, which matters more under attack.
    private mutating func evict() {
        let excess = map.count - capacity + max(1, capacity / 64)
        let cutoff = map.values.map(\.expiresAt).sorted()[min(excess, map.count) - 1]
        var removed = 0
        map = map.filter { entry in
            guard removed < excess, entry.value.expiresAt <= cutoff else { return true }
            removed += 1
            return false
        }
    }
}
