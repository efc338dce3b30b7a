import RampartHTTP
import RampartLoop
import RampartTransport
/// One quota counter: whose it is, on which route, and which of the route's quotas (a route may have several).
public struct QuotaKey: Hashable, Sendable, CustomStringConvertible {
    /// "user:u1", "ip:203.0.113.7" or "route" (the route-global quota).
    public let identity: String
    public var route: String
    /// The quota's position in the route's `quotas` list.
    public let index: Int
    /// `identity.hashValue` (the process's seeded hash), taken once: the memory store picks the
    /// shard with it and its dictionary hashes it with `index`, so a request hashes its identity
    /// once instead of three times. The route is left out of the hash (a user has a few routes);
    /// equality still compares it.
    public let identityHash: Int

    public init(identity: String, route: String, index: Int) {
        self.identity = identity; self.route = route; self.index = index
        identityHash = identity.hashValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(identityHash)
        hasher.combine(index)
    }

    public static func == (a: QuotaKey, b: QuotaKey) -> Bool {
        a.identityHash == b.identityHash && a.index == b.index && a.identity == b.identity && a.route == b.route
    }

    /// The Redis key, e.g. `rampart:{user:u1}:generate-chapter:0`. The identity is the hash tag so every
    /// key one request touches for one identity lands on the same Redis Cluster slot (one atomic script).
    public var description: String { "rampart:{\(identity)}:\(route):\(index)" }
}

/// One quota to check for one request: at most `limit` hits in any `window` seconds, or for a token
/// quota at most `limit` tokens charged in any `window` seconds (checked before the call, charged after).
public struct QuotaRule: Sendable {
    public var key: QuotaKey
    public var limit: Int
    /// Seconds; the store works in whole milliseconds (config durations are whole milliseconds too).
    public var window: Double
    /// Requests: `acquire` records a hit. Tokens: `acquire` only checks; `charge` records the tokens.
    public var unit: QuotaConfig.Unit

    public init(key: QuotaKey, limit: Int, window: Double, unit: QuotaConfig.Unit = .requests) {
        self.key = key; self.limit = limit; self.window = window; self.unit = unit
    }
}

/// What a quota looks like to the client after a decision (feeds the RateLimit headers).
public struct QuotaStatus: Sendable, Equatable {
    public var limit: Int
    public var remaining: Int
    /// Seconds until the next slot frees: when `remaining` is 0, the exact wait before a request fits;
    /// otherwise until the oldest hit in the window expires; 0 when nothing is in the window.
    public var resetAfter: Double
    public var window: Double

    public init(limit: Int, remaining: Int, resetAfter: Double, window: Double) {
        self.limit = limit; self.remaining = remaining; self.resetAfter = resetAfter; self.window = window
    }
}

/// The outcome of `QuotaStore.acquire`; statuses are in the order of the rules asked about.
public enum QuotaDecision: Sendable, Equatable {
    case allowed([QuotaStatus])
    /// `retryAfter` is whole seconds, at least 1: waiting exactly that long makes room in every
    /// quota that refused (the ceiling of the longest true wait).
    case limited(retryAfter: Int, [QuotaStatus])

    public var statuses: [QuotaStatus] {
        switch self { case .allowed(let s), .limited(_, let s): s }
    }

    public var isAllowed: Bool {
        if case .allowed = self { return true } else { return false }
    }
}

/// Where quota hits are counted. The memory store answers at once; a networked store (Redis) can
/// override the callback form of `acquire` and answer later on its own event loop, so callers that
/// use the callback form work with either.
public protocol QuotaStore: AnyObject, Sendable {
    /// Atomically: if every rule has room, records one hit in each request rule and returns `.allowed`;
    /// else records nothing and returns `.limited`. A token rule has room while the tokens charged in its
    /// window are under its limit. `now` is unix seconds.
    func acquire(_ rules: [QuotaRule], now: Double) -> QuotaDecision
    /// Records `tokens[i]` tokens at `now` in token rule `rules[i]`'s window (after the call; no decision).
    func charge(_ rules: [QuotaRule], tokens: [Int], now: Double)
    /// The same decision delivered to `completion` (on the caller's thread for stores that answer at once).
    func acquire(_ rules: [QuotaRule], now: Double, completion: @escaping @Sendable (QuotaDecision) -> Void)
    /// The statuses the rules have right now, recording nothing.
    func peek(_ rules: [QuotaRule], now: Double) -> [QuotaStatus]
    /// Forgets an identity's hits: on one route, or on all routes when `route` is nil (DELETE /admin/quotas).
    func reset(identity: String, route: String?)
    /// An identity's live counters (GET /admin/quotas): hits, or tokens for a token quota's key.
    func entries(identity: String) -> [(route: String, index: Int, used: Int)]
    /// Saves state so a restart does not hand everyone a fresh quota; a no-op for stores that need none.
    func persist() throws
    /// Loads what `persist` saved; a no-op for stores that need none.
    func restore() throws
}

extension QuotaStore {
    public func acquire(_ rules: [QuotaRule], now: Double, completion: @escaping @Sendable (QuotaDecision) -> Void) {
        completion(acquire(rules, now: now))
    }
}

extension QuotaRule {
    /// A route's quotas as rules for one request, in config order (so `index` matches the position the
    /// RateLimit headers name). `user` is the verified user id, nil for anonymous callers, who are
    /// counted by IP on `user`-keyed quotas (SPEC §5: identity falls back to the client IP).
    public static func rules(for quotas: [QuotaConfig], route: String, user: String?, ip: String) -> [QuotaRule] {
        rules(for: quotas, windows: quotas.map { Double($0.per.configMilliseconds) / 1000 }, route: route, user: user, ip: ip)
    }

    /// The same with each quota's window in seconds worked out beforehand (a quota policy does it
    /// once, not per request).
    public static func rules(for quotas: [QuotaConfig], windows: [Double], route: String, user: String?, ip: String) -> [QuotaRule] {
        quotas.indices.map { index in   // indices, not enumerated(): the array is made at its size
            let quota = quotas[index]
            let identity: String
            switch quota.key {
            case .user: identity = user.map { "user:" + $0 } ?? "ip:" + ip
            case .ip: identity = "ip:" + ip
            case .route: identity = "route"
            }
            return QuotaRule(key: QuotaKey(identity: identity, route: route, index: index),
                             limit: quota.limit, window: windows[index], unit: quota.unit)
        }
    }
}
