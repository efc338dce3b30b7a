import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import Synchronization

/// The default quota store: sliding-window logs in this process, shared by every worker loop (one
/// store object, so 2 workers still give a user exactly `limit`), bounded, and saved under `store.dir`
/// so a restart does not hand out fresh quotas.
///
/// Memory bound: at most `maxKeys` logs. Measured (QuotaMemoryTests, resident set growth over a million
/// users) at about 215 bytes per key for a 1-hit log with an identity of up to 15 bytes (stored inline),
/// about 310 with a 33-byte identity (its own heap string), plus 4 bytes per hit beyond the first 4. The
/// default cap of 2,000,000 keys therefore holds the store under about 650 MB even under a flood of
/// distinct identities; expired logs are swept, so normal traffic stays far below that.
public final class MemoryQuotaStore: QuotaStore {
    static let shardCount = 64
    let shards: [QuotaShard]
    let directory: String?
    let clock: any Clock
    /// Serialises `persist` calls (the periodic timer and shutdown may overlap).
    let persistLock = Lock<Void>(())

    /// `directory` is `store.dir` (nil: never persisted). Call `restore()` once before serving.
    public init(directory: String?, maxKeys: Int = 2_000_000, clock: any Clock = SystemClock()) {
        self.directory = directory
        self.clock = clock
        let perShard = (max(1, maxKeys) + Self.shardCount - 1) / Self.shardCount
        shards = (0..<Self.shardCount).map { _ in QuotaShard(capacity: perShard) }
    }

    /// All of one identity's keys share a shard (per-process hash seed: never persisted).
    func shardIndex(_ identity: String) -> Int { shardIndex(hash: identity.hashValue) }
    func shardIndex(hash: Int) -> Int { hash & (Self.shardCount - 1) }

    public func acquire(_ rules: [QuotaRule], now: Double) -> QuotaDecision {
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        if rules.count == 1 {
            // One quota on the route (the usual case): its log decided where it lies.
            let rule = rules[0]
            return shards[shardIndex(hash: rule.key.identityHash)].state.withLock { shard in
                let decision = shard.withLog(rule.key) { QuotaSlidingWindow.decide(rule, log: &$0, nowMs: nowMs) }
                shard.maintain(nowMs: nowMs)
                return decision
            }
        }
        return withLogs(distinct(rules), nowMs: nowMs) { rules, logs in
            QuotaSlidingWindow.decide(rules, logs: &logs, nowMs: nowMs)
        }
    }

    /// Token quotas after a call: each key's log gets the call's tokens, under the same shard locks as
    /// `acquire`, so a check on another loop sees the charge at once.
    public func charge(_ rules: [QuotaRule], tokens: [Int], now: Double) {
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        var seen = Set<QuotaKey>()
        var kept: [QuotaRule] = [], amounts: [Int] = []
        for (rule, n) in zip(rules, tokens) where seen.insert(rule.key).inserted { kept.append(rule); amounts.append(n) }
        _ = withLogs(kept, nowMs: nowMs) { rules, logs in
            .allowed(QuotaSlidingWindow.charge(rules, tokens: amounts, logs: &logs, nowMs: nowMs))
        }
    }

    public func peek(_ rules: [QuotaRule], now: Double) -> [QuotaStatus] {
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        return withLogs(distinct(rules), nowMs: nowMs) { rules, logs in
            .allowed(QuotaSlidingWindow.peek(rules, logs: &logs, nowMs: nowMs))
        }.statuses
    }

    public func reset(identity: String, route: String?) {
        shards[shardIndex(identity)].state.withLock { shard in
            let doomed = shard.map.keys.filter { $0.identity == identity && (route == nil || $0.route == route) }
            for key in doomed { shard.map.removeValue(forKey: key) }
        }
    }

    public func entries(identity: String) -> [(route: String, index: Int, used: Int)] {
        let nowMs = QuotaSlidingWindow.milliseconds(clock.now())
        let found: [(route: String, index: Int, used: Int)] = shards[shardIndex(identity)].state.withLock { shard in
            shard.map.compactMap { key, log in
                guard key.identity == identity else { return nil }
                var live = log   // shares the ring; pruning only moves the head
                live.prune(nowMs: nowMs, windowMs: log.windowMs)
                return live.isEmpty ? nil : (key.route, key.index, live.total)
            }
        }
        return found.sorted { ($0.route, $0.index) < ($1.route, $1.index) }
    }

    /// Drops every expired log in every shard now (one shard locked at a time).
    public func sweep() {
        let nowMs = QuotaSlidingWindow.milliseconds(clock.now())
        for shard in shards { shard.state.withLock { $0.sweep(nowMs: nowMs) } }
    }

    /// The number of keys held (for metrics and tests).
    public var keyCount: Int { shards.reduce(0) { total, shard in total + shard.state.withLock { $0.map.count } } }

    /// One log per key: a caller listing a key twice gets it counted once.
    private func distinct(_ rules: [QuotaRule]) -> [QuotaRule] {
        guard rules.count > 1 else { return rules }
        var seen = Set<QuotaKey>()
        return rules.filter { seen.insert($0.key).inserted }
    }

    /// Moves the rules' logs out of their shards, runs `body` on them and puts them back, all under the
    /// locks of every shard involved, so a request spanning shards (user and route-global quotas) is
    /// still all-or-none. (Not generic: this is the hot path, and unspecialised generics are slow in debug builds.)
    private func withLogs(_ rules: [QuotaRule], nowMs: Int64,
                          _ body: ([QuotaRule], inout [QuotaLog]) -> QuotaDecision) -> QuotaDecision {
        if rules.count == 1 {
            // One quota on the route (the usual case): one shard, no lock-ordering bookkeeping.
            let key = rules[0].key
            return shards[shardIndex(hash: key.identityHash)].state.withLock { shard in
                var logs = [shard.take(key)]
                let result = body(rules, &logs)
                shard.put(key, logs[0])
                shard.maintain(nowMs: nowMs)
                return result
            }
        }
        let shardOf = rules.map { shardIndex(hash: $0.key.identityHash) }
        let first = shardOf.first ?? 0
        let ids = shardOf.allSatisfy { $0 == first } ? [first] : Array(Set(shardOf)).sorted()
        return withShards(ids[...], held: []) { held in
            let slot = shardOf.map { ids.firstIndex(of: $0)! }
            var logs = rules.indices.map { held[slot[$0]].pointee.take(rules[$0].key) }
            let result = body(rules, &logs)
            for i in rules.indices { held[slot[i]].pointee.put(rules[i].key, logs[i]) }
            for shard in held { shard.pointee.maintain(nowMs: nowMs) }
            return result
        }
    }

    /// Runs `body` holding the locks of `ids` (ascending, distinct). The fixed order rules out deadlock
    /// between two requests that both span shards. The pointers are valid only inside `body`.
    private func withShards(_ ids: ArraySlice<Int>, held: [UnsafeMutablePointer<QuotaShardState>],
                            _ body: ([UnsafeMutablePointer<QuotaShardState>]) -> QuotaDecision) -> QuotaDecision {
        guard let first = ids.first else { return body(held) }
        return shards[first].state.withLock { state in
            withUnsafeMutablePointer(to: &state) { pointer in
                withShards(ids.dropFirst(), held: held + [pointer], body)
            }
        }
    }
}
