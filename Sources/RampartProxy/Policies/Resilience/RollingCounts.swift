import RampartHTTP
import RampartLoop
import RampartTransport
/// Two counters summed over a sliding window made of a fixed number of buckets.
///
/// Why buckets rather than a log of events: a breaker or budget sees every request of an upstream, so
/// memory must not grow with traffic. With `bucketCount` buckets the window slides in steps of
/// `window / bucketCount` — old results leave at most one bucket width late, which is precise enough
/// for rates and keeps the state a few dozen bytes.
package struct RollingCounts: Sendable, Equatable {
    private struct Bucket: Sendable, Equatable {
        var epoch: Int64 = .min
        package var first = 0
        package var second = 0
    }

    package let bucketWidth: Double
    private var buckets: [Bucket]

    /// `window` in seconds; a non-positive window is widened to 1 ms so the arithmetic stays finite.
    package init(window: Double, bucketCount: Int = 10) {
        let count = max(1, bucketCount)
        bucketWidth = max(window, 0.001) / Double(count)
        buckets = Array(repeating: Bucket(), count: count)
    }

    /// Adds to the bucket covering `now`, first clearing it if it still holds an older lap's counts.
    package mutating func add(first: Int = 0, second: Int = 0, now: Double) {
        let epoch = epochOf(now)
        let index = slot(epoch)
        if buckets[index].epoch != epoch { buckets[index] = Bucket(epoch: epoch) }
        buckets[index].first += first
        buckets[index].second += second
    }

    /// Sums the buckets whose epoch lies in the window ending at `now`. Buckets from the "future"
    /// (the wall clock stepped back) are left out rather than trusted.
    package func totals(now: Double) -> (first: Int, second: Int) {
        let current = epochOf(now)
        let oldest = current - Int64(buckets.count) + 1
        var first = 0, second = 0
        for bucket in buckets where bucket.epoch >= oldest && bucket.epoch <= current {
            first += bucket.first
            second += bucket.second
        }
        return (first, second)
    }

    package mutating func clear() {
        for i in buckets.indices { buckets[i] = Bucket() }
    }

    private func epochOf(_ now: Double) -> Int64 {
        let e = (now / bucketWidth).rounded(.down)
        // Clamp so a nonsense time (NaN, ±inf) cannot trap the conversion.
        guard e.isFinite else { return e > 0 ? .max / 2 : .min / 2 }
        return Int64(max(min(e, 4e18), -4e18))
    }

    private func slot(_ epoch: Int64) -> Int {
        let n = Int64(buckets.count)
        return Int(((epoch % n) + n) % n)
    }
}

extension Duration {
    /// Seconds as a Double: the resilience state machines take time as plain `now: Double` seconds.
    package var resilienceSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
