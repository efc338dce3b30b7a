import RampartHTTP
import RampartLoop
import RampartTransport
/// Running totals for `/admin/status`, so the dashboard can show a live request rate by polling
/// one small JSON document instead of parsing the Prometheus text.
public struct RequestCounts: Sendable, Equatable {
    /// Requests answered since start (the sum of `rampart_requests_total`).
    public var total = 0
    /// The same, by status class: "1xx" … "5xx".
    public var byClass: [String: Int] = [:]
}

extension Metrics {
    /// Sums every shard's request counters (one uncontended lock per shard; labels are bounded).
    public func requestCounts() -> RequestCounts {
        var counts = RequestCounts()
        for shard in shards {
            shard.state.withLock { state in
                for (key, n) in state.requests {
                    counts.total += n
                    counts.byClass["\(key.status / 100)xx", default: 0] += n
                }
            }
        }
        return counts
    }
}
