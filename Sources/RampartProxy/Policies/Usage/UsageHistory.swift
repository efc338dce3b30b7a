import RampartHTTP
import RampartLoop
import RampartTransport
/// One key's recent usage in one-minute buckets, oldest first.
///
/// Buckets are sparse (a minute without calls has none), so an occasional user costs a few buckets, and
/// a key is bounded by `horizon / bucketSeconds` buckets however busy it is. A bucket stays in a window
/// until its *end* leaves it: spending is kept up to one bucket longer than exact, never shorter, so a
/// budget is never released early.
struct UsageHistory: Sendable {
    struct Bucket: Sendable {
        package var index: Int
        package var usd = 0.0
        package var models: [String: UsageTotals] = [:]
    }

    private(set) var buckets: [Bucket] = []
    private(set) var lastSeen: Double = 0

    package mutating func add(model: String, usage: TokenUsage, cost: Double, index: Int, now: Double) {
        lastSeen = max(lastSeen, now)
        // Usually the last bucket or a new one; an injected or stepped-back clock may hit an older one.
        var pos = buckets.count
        while pos > 0 && buckets[pos - 1].index > index { pos -= 1 }
        if pos == 0 || buckets[pos - 1].index != index {
            buckets.insert(Bucket(index: index), at: pos)
            pos += 1
        }
        buckets[pos - 1].usd += cost
        buckets[pos - 1].models[model, default: UsageTotals()].add(usage, cost: cost)
    }

    /// Drops buckets whose end is older than `horizon` seconds before `now`.
    package mutating func prune(now: Double, horizon: Double, bucketSeconds: Double) {
        let keep = buckets.firstIndex { end(of: $0, bucketSeconds) + horizon > now } ?? buckets.count
        if keep > 0 { buckets.removeFirst(keep) }
    }

    /// Buckets that overlap the trailing `window`, oldest first.
    package func inWindow(_ window: Double, now: Double, bucketSeconds: Double) -> ArraySlice<Bucket> {
        let first = buckets.firstIndex { end(of: $0, bucketSeconds) + window > now } ?? buckets.count
        return buckets[first...]
    }

    package func end(of bucket: Bucket, _ bucketSeconds: Double) -> Double {
        Double(bucket.index + 1) * bucketSeconds
    }
}
