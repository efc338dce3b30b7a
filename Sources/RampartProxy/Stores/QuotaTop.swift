import RampartHTTP
import RampartLoop
import RampartTransport
/// One quota counter's use right now: whose, on which route and quota, and the hits in its window.
public struct QuotaUse: Sendable, Equatable {
    public var identity: String
    public var route: String
    /// The quota's position in the route's `quotas` list.
    public var index: Int
    /// Hits inside the current window.
    public var used: Int

    public init(identity: String, route: String, index: Int, used: Int) {
        self.identity = identity; self.route = route; self.index = index; self.used = used
    }
}

/// The answer to "who is using their quotas most" (`GET /admin/quotas/top`).
public struct QuotaTopResult: Sendable, Equatable {
    /// Most used first.
    public var uses: [QuotaUse]
    /// Keys looked at: quota counters (memory store) or identities' quota indexes (Redis store).
    public var scannedKeys: Int
    /// False when a scan cap stopped the search early (Redis store with a very large keyspace).
    public var complete: Bool
    package init(uses: [QuotaUse], scannedKeys: Int, complete: Bool) {
        self.uses = uses; self.scannedKeys = scannedKeys; self.complete = complete
    }
}

package enum QuotaTop {
    /// Most used first; ties in a fixed order so the dashboard's rows do not jump between polls.
    static func isBefore(_ a: QuotaUse, _ b: QuotaUse) -> Bool {
        if a.used != b.used { return a.used > b.used }
        return (a.identity, a.route, a.index) < (b.identity, b.route, b.index)
    }

    /// The `limit` most used of `uses`.
    package static func best(_ uses: [QuotaUse], limit: Int) -> [QuotaUse] {
        Array(uses.sorted(by: isBefore).prefix(max(0, limit)))
    }
}
