import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
extension MemoryQuotaStore {
    /// The `limit` most used live counters, of one route or of all. One shard is locked at a time and
    /// only while its counters are read, so requests wait on at most 1/64 of the keys for a moment.
    public func top(limit: Int, route: String?, now: Double) -> QuotaTopResult {
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        var best: [QuotaUse] = []
        var scanned = 0
        for shard in shards {
            let live: [QuotaUse] = shard.state.withLock { state in
                scanned += state.map.count
                var found: [QuotaUse] = []
                for (key, log) in state.map where route == nil || key.route == route {
                    var current = log   // shares the ring; pruning only moves the head
                    current.prune(nowMs: nowMs, windowMs: log.windowMs)
                    if !current.isEmpty { found.append(QuotaUse(identity: key.identity, route: key.route, index: key.index, used: current.total)) }
                }
                return found
            }
            // Sorted outside the lock; keeping only the best `limit` per shard bounds memory.
            best = QuotaTop.best(best + QuotaTop.best(live, limit: limit), limit: limit)
        }
        return QuotaTopResult(uses: best, scannedKeys: scanned, complete: true)
    }
}
