import RampartHTTP
import RampartLoop
/// The addresses of upstream host names, as one event loop knows them. getaddrinfo blocks, so the
/// loop never calls it: this cache says when to resolve (on a helper thread) and what to connect
/// to meanwhile. Like Envoy's strict DNS: names are re-resolved in the background every
/// `refreshMs` while requests keep using the last good answer, and a failed lookup keeps the
/// old addresses (a DNS hiccup must not take the app down). A value type that returns decisions,
/// with the time passed in, so every rule is tested without a resolver or a clock.
struct HostCache<Waiter> {
    /// How long an answer is used before it is refreshed in the background.
    let refreshMs: UInt64
    /// After a failed lookup, how long before the next try (and how long a name that never
    /// resolved fails at once, instead of queueing every request behind another lookup).
    let retryMs: UInt64

    struct Entry {
        var addresses: [SocketAddressBytes] = []
        /// Bumped whenever the set of addresses changes; pooled connections are keyed by
        /// `poolKey` (`name#generation`), so connections to an address DNS no longer returns
        /// are not reused. Kept here so no request builds the key.
        var generation = 0
        var poolKey = ""
        var refreshAtMs: UInt64 = 0
        var resolving = false
        var lastError: String?
        var waiters: [Waiter] = []
        var next = 0
    }
    private(set) var entries: [String: Entry] = [:]

    init(refreshMs: UInt64 = 10_000, retryMs: UInt64 = 1_000) {
        self.refreshMs = refreshMs; self.retryMs = retryMs
    }

    enum Lookup: Equatable {
        /// Connect (or reuse a pooled connection under this key); `refresh` asks the caller to
        /// start a background lookup.
        case ready(poolKey: String, refresh: Bool)
        /// No address yet: the waiter was queued; `resolve` asks the caller to start the lookup.
        case wait(resolve: Bool)
        /// The name did not resolve moments ago.
        case failed(String)
    }

    /// Runs per request: the entry is changed in place, not copied out and written back.
    mutating func lookup(_ name: String, nowMs: UInt64, waiter: Waiter) -> Lookup {
        Self.lookup(&entries[name, default: Entry()], nowMs: nowMs, waiter: waiter)
    }

    private static func lookup(_ e: inout Entry, nowMs: UInt64, waiter: Waiter) -> Lookup {
        let due = nowMs >= e.refreshAtMs && !e.resolving
        if !e.addresses.isEmpty {
            if due { e.resolving = true }
            return .ready(poolKey: e.poolKey, refresh: due)
        }
        if let error = e.lastError, nowMs < e.refreshAtMs { return .failed(error) }
        e.waiters.append(waiter)
        if due { e.resolving = true }
        return .wait(resolve: due)
    }

    /// The next address to connect to, round robin over what the name resolved to.
    mutating func nextAddress(_ name: String) -> SocketAddressBytes? {
        guard entries[name]?.addresses.isEmpty == false else { return nil }
        return Self.next(&entries[name]!)
    }

    private static func next(_ e: inout Entry) -> SocketAddressBytes {
        defer { e.next &+= 1 }
        return e.addresses[e.next % e.addresses.count]
    }

    struct Outcome {
        /// Queued requests: connect them under this pool key, or fail them with `error`.
        var waiters: [Waiter] = []
        var poolKey = ""
        var error: String?
        /// Set when the addresses changed: pooled connections under that key should go.
        var retiredPoolKey: String?
    }

    mutating func resolved(_ name: String, _ result: Result<[SocketAddressBytes], ResolveError>, nowMs: UInt64) -> Outcome {
        var e = entries[name] ?? Entry()
        defer { entries[name] = e }
        e.resolving = false
        var outcome = Outcome()
        outcome.waiters = e.waiters
        e.waiters = []
        switch result {
        case .success(let addresses) where !addresses.isEmpty:
            if addresses != e.addresses {
                if !e.addresses.isEmpty { outcome.retiredPoolKey = e.poolKey }
                e.generation += 1
                e.poolKey = "\(name)#\(e.generation)"
                e.addresses = addresses
                e.next = 0
            }
            e.lastError = nil
            e.refreshAtMs = nowMs + refreshMs
        case .success:
            e.lastError = "resolve \(name): no address"
            e.refreshAtMs = nowMs + retryMs
        case .failure(let error):
            e.lastError = error.message
            e.refreshAtMs = nowMs + retryMs
        }
        outcome.poolKey = e.poolKey
        // Old addresses outlive a failed refresh; only a name that never resolved fails its waiters.
        if e.addresses.isEmpty { outcome.error = e.lastError }
        return outcome
    }
}

/// Why a host name did not resolve, in getaddrinfo's words.
