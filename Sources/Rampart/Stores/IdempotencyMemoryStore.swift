import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Synchronization

/// The default idempotency store: records in this process, shared by every worker loop (one object,
/// so a retry landing on another loop still sees the first request), answering synchronously.
///
/// Bounded two ways, because stored bodies can be large: at most `maxEntries` records and
/// `maxBytes` of stored bodies and headers. Expired records are swept at most once a minute as a side
/// effect of `begin` (no timer needed); when a bound is hit anyway, the records closest to expiry are
/// evicted down to 90% of it, so a flood costs one sort per 10% of capacity, not one per insert.
/// In-flight records expire after `inFlightTimeout` (or the ttl, if shorter) so a request that
/// crashed without completing or abandoning cannot wedge its key forever.
///
/// One Mutex guards everything: idempotency applies only to the few routes that ask for it, and
/// each operation is a dictionary lookup, so sharding would not pay for itself.
public final class MemoryIdempotencyStore: IdempotencyStore, @unchecked Sendable {
    struct Key: Hashable {
        var identity: String
        var key: String
    }

    struct Entry {
        var record: IdempotencyRecord
        var expiresAt: Double
        var cost: Int
        var isInFlight: Bool { if case .inFlight = record { return true } else { return false } }
    }

    struct State {
        var map: [Key: Entry] = [:]
        var bytes = 0
        var nextSweep = -Double.infinity
    }

    public let maxEntries: Int
    public let maxBytes: Int
    public let maxBodyBytes: Int
    public let inFlightTimeout: Double
    private let state = Lock(State())

    /// `maxBodyBytes` is a process-wide ceiling; routes pass their own, smaller limit to
    /// `complete(…, maxBodyBytes:)`.
    public init(maxEntries: Int = 100_000, maxBytes: Int = 256 << 20, maxBodyBytes: Int = 8 << 20,
                inFlightTimeout: Double = 300) {
        self.maxEntries = max(1, maxEntries); self.maxBytes = max(1, maxBytes)
        self.maxBodyBytes = maxBodyBytes; self.inFlightTimeout = inFlightTimeout
    }

    public func begin(identity: String, key: String, fingerprint: String, ttl: Double, now: Double,
                      completion: @escaping (Result<IdempotencyBegin, IdempotencyStoreError>) -> Void) {
        completion(.success(begin(identity: identity, key: key, fingerprint: fingerprint, ttl: ttl, now: now)))
    }

    /// The synchronous form of `begin` (the memory store never fails).
    public func begin(identity: String, key: String, fingerprint: String, ttl: Double, now: Double) -> IdempotencyBegin {
        let k = Key(identity: identity, key: key)
        return state.withLock { s in
            if now >= s.nextSweep { Self.sweep(&s, now: now); s.nextSweep = now + 60 }
            if let e = s.map[k] {
                if e.expiresAt > now { return e.record.outcome(for: fingerprint) }
                Self.remove(k, from: &s)
            }
            let record = IdempotencyRecord.inFlight(fingerprint: fingerprint)
            insert(k, Entry(record: record, expiresAt: now + min(ttl, inFlightTimeout), cost: Self.cost(k, record)), into: &s, now: now)
            return .proceed
        }
    }

    public func complete(identity: String, key: String, fingerprint: String, response: StoredResponse, ttl: Double, now: Double) {
        guard response.body.count <= maxBodyBytes else { abandon(identity: identity, key: key); return }
        let k = Key(identity: identity, key: key)
        let record = IdempotencyRecord.completed(fingerprint: fingerprint, response: response)
        state.withLock { s in
            Self.remove(k, from: &s)
            insert(k, Entry(record: record, expiresAt: now + ttl, cost: Self.cost(k, record)), into: &s, now: now)
        }
    }

    public func abandon(identity: String, key: String) {
        let k = Key(identity: identity, key: key)
        state.withLock { s in
            if s.map[k]?.isInFlight == true { Self.remove(k, from: &s) }
        }
    }

    /// Drops every expired record now (also done by `begin` once a minute).
    public func sweep(now: Double) { state.withLock { Self.sweep(&$0, now: now) } }

    /// Records held, and the bytes they account for (metrics, tests).
    public var count: Int { state.withLock { $0.map.count } }
    public var storedBytes: Int { state.withLock { $0.bytes } }

    // MARK: Internals (under the lock)

    private func insert(_ k: Key, _ e: Entry, into s: inout State, now: Double) {
        if s.map.count + 1 > maxEntries || s.bytes + e.cost > maxBytes {
            Self.sweep(&s, now: now)
            evict(&s, toFit: e.cost)
        }
        s.map[k] = e
        s.bytes += e.cost
    }

    /// Evicts the records nearest to expiry until 90% of both bounds leaves room for `cost` more.
    private func evict(_ s: inout State, toFit cost: Int) {
        let entryGoal = maxEntries - max(1, maxEntries / 10)
        let byteGoal = maxBytes - max(cost, maxBytes / 10)
        guard s.map.count > entryGoal || s.bytes > byteGoal else { return }
        for (k, _) in s.map.sorted(by: { $0.value.expiresAt < $1.value.expiresAt }) {
            if s.map.count <= entryGoal && s.bytes <= byteGoal { break }
            Self.remove(k, from: &s)
        }
    }

    private static func sweep(_ s: inout State, now: Double) {
        for (k, e) in s.map where e.expiresAt <= now { remove(k, from: &s) }
    }

    private static func remove(_ k: Key, from s: inout State) {
        if let e = s.map.removeValue(forKey: k) { s.bytes -= e.cost }
    }

    /// Approximate bytes held by a record: its strings and body plus a fixed overhead per entry and header.
    static func cost(_ k: Key, _ record: IdempotencyRecord) -> Int {
        var n = 128 + k.identity.utf8.count + k.key.utf8.count + record.fingerprint.utf8.count
        if case .completed(_, let r) = record {
            n += r.body.count
            for h in r.headers { n += 32 + h.name.utf8.count + h.value.utf8.count }
        }
        return n
    }
}
