import RampartHTTP
import RampartLoop
import RampartTransport
/// One key's recent usage in buckets, oldest first, that widen as they age.
///
/// Buckets are sparse (a minute without calls has none). A bucket stays in a window until its *end*
/// leaves it: spending is kept up to one bucket longer than exact, never shorter, so a budget is never
/// released early. Recent buckets are one minute wide; older ones are merged into 5-minute buckets
/// after 10 minutes, 15-minute ones after an hour and hourly ones after 6 hours (`tiers`), so a key
/// active every minute of a day holds about 60 buckets, not 1,440, and an hour's window is late by at
/// most 5 minutes, a day's by at most an hour.
struct UsageHistory: Sendable {
    struct Bucket: Sendable {
        /// First bucket-sized unit covered (time / bucketSeconds), a multiple of `width`.
        package var index: Int
        /// Units covered: 1, or a tier's width once merged.
        package var width = 1
        package var usd = 0.0
        package var models: [String: UsageTotals] = [:]

        var endIndex: Int { index + width }

        mutating func absorb(_ other: Bucket) {
            usd += other.usd
            for (model, totals) in other.models { models[model, default: UsageTotals()].add(totals) }
        }
    }

    /// Bucket widths by age, in units of one bucket (a minute by default): a bucket that ended at least
    /// `age` units ago is merged into an aligned bucket `width` units wide. Each width divides the next,
    /// so a merged bucket always lies inside the wider one it is later merged into.
    static let tiers: [(age: Int, width: Int)] = [(10, 5), (60, 15), (360, 60)]

    private(set) var buckets: [Bucket] = []
    private(set) var lastSeen: Double = 0

    package mutating func add(model: String, usage: TokenUsage, cost: Double, index: Int, now: Double) {
        lastSeen = max(lastSeen, now)
        // Usually the last bucket or a new one; an injected or stepped-back clock may hit an older one.
        var pos = buckets.count
        while pos > 0 && buckets[pos - 1].index > index { pos -= 1 }
        if pos > 0 && index < buckets[pos - 1].endIndex {
            pos -= 1
        } else {
            buckets.insert(Bucket(index: index), at: pos)
            merge(nowIndex: index)   // a new bucket at most once a minute per key: the only time widths change
            pos = buckets.lastIndex { $0.index <= index } ?? 0
        }
        buckets[pos].usd += cost
        buckets[pos].models[model, default: UsageTotals()].add(usage, cost: cost)
    }

    /// Merges buckets old enough for a wider tier into aligned buckets of that width.
    private mutating func merge(nowIndex: Int) {
        guard let oldest = buckets.first, nowIndex - oldest.endIndex >= Self.tiers[0].age else { return }
        var merged: [Bucket] = []
        merged.reserveCapacity(buckets.count)
        for var bucket in buckets {
            let age = nowIndex - bucket.endIndex
            let width = Self.tiers.last { age >= $0.age }?.width ?? 1
            if width > bucket.width {
                bucket.index -= ((bucket.index % width) + width) % width
                bucket.width = width
            }
            if let last = merged.last, bucket.index < last.endIndex {
                merged[merged.count - 1].absorb(bucket)   // alignment: inside `last`
            } else {
                merged.append(bucket)
            }
        }
        buckets = merged
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
        Double(bucket.endIndex) * bucketSeconds
    }
}
