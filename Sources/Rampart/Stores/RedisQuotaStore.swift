import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import CLinux

/// Quotas in Redis, so N replicas enforce one global limit: the same sliding-window log as the
/// memory store (`QuotaSlidingWindow`), run as one atomic Lua script per request (prune, check all,
/// record all or none) with Rampart's clock passed in, so both stores decide identically.
///
/// One instance per event loop, wrapping that loop's `RedisConnection` (one node or a cluster); like the client, it is used only
/// on the loop's thread and answers on it. Scripts are loaded with SCRIPT LOAD when the client
/// connects and run with EVALSHA; a NOSCRIPT reply (Redis restarted, SCRIPT FLUSH) falls back to
/// EVAL, which also caches the script again.
public final class RedisQuotaStore: @unchecked Sendable {
    public let client: any RedisConnection
    public var loop: EventLoop { client.loop }

    private let acquireScript = RedisScript(RedisQuotaScripts.acquire)
    private let entriesScript = RedisScript(RedisQuotaScripts.entries)
    private let resetScript = RedisScript(RedisQuotaScripts.reset)
    private let chargeScript = RedisScript(RedisQuotaScripts.charge)
    let refundScript = RedisScript(RedisQuotaScripts.refund)

    /// Unique hit members: a random per-store token plus a counter.
    let token: String
    var counter: UInt64 = 0

    public init(client: any RedisConnection) {
        self.client = client
        var seed: UInt64 = 0
        rampart_getrandom(&seed, 8)
        token = String(seed, radix: 36) + "." + String(client.loop.index)
    }

    /// Connects and loads the scripts (call on the loop thread at startup). Optional: the first
    /// command connects too, and scripts run with EVAL until their SHA1s are known.
    /// `completion` (on the loop) reports whether the scripts loaded.
    public func start(completion: ((Result<Void, RedisError>) -> Void)? = nil) {
        client.start()
        loadScripts(completion: completion)
    }

    /// SCRIPT LOAD for every script; the SHA1s come back from Redis.
    public func loadScripts(completion: ((Result<Void, RedisError>) -> Void)? = nil) {
        RedisScript.loadAll([acquireScript, entriesScript, resetScript, chargeScript, refundScript], on: client, completion: completion)
    }

    /// True once every script's SHA1 is known (EVALSHA is used from then on).
    public var scriptsLoaded: Bool {
        acquireScript.sha != nil && entriesScript.sha != nil && resetScript.sha != nil && chargeScript.sha != nil
    }

    /// Readiness: the connection is up (for `/readyz`, `/admin/status`; any thread).
    public var isHealthy: Bool { client.isHealthy }
    public var lastError: String? { client.lastError }

    // MARK: Quotas (loop thread)

    /// Atomically: if every rule has room, records one hit in each and answers `.allowed`; else records
    /// nothing and answers `.limited`. `now` is unix seconds (Rampart's clock, not Redis TIME).
    /// A key listed twice counts once (as in the memory store). Fails with a `RedisError` when Redis
    /// cannot answer; the caller applies `store.on_unavailable`.
    public func acquire(_ rules: [QuotaRule], now: Double, completion: @escaping (Result<QuotaDecision, RedisError>) -> Void) {
        run(rules, now: now, record: true, completion: completion)
    }

    /// Charges a call's tokens (`tokens[i]` to token rule `rules[i]`) at `now`, atomically for all its
    /// keys (one script; every key of one identity shares its hash tag). Answers when Redis has them.
    public func charge(_ rules: [QuotaRule], tokens: [Int], now: Double, completion: @escaping (Result<Void, RedisError>) -> Void) {
        if client.isCluster, Self.slotGroups(rules).count > 1 { chargeBySlot(rules, tokens: tokens, now: now, completion: completion); return }
        var seen = Set<QuotaKey>()
        var keys: [String] = [], indexKeys: [String] = []
        counter &+= 1
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        var args = [String(nowMs), "\(nowMs)-\(token)-\(counter)"]
        for (rule, n) in zip(rules, tokens) where seen.insert(rule.key).inserted {
            keys.append(rule.key.description)
            indexKeys.append(RedisQuotaScripts.indexKey(identity: rule.key.identity))
            args.append(String(QuotaSlidingWindow.windowMs(rule)))
            args.append(String(max(0, n)))
        }
        guard !keys.isEmpty else { completion(.success(())); return }
        chargeScript.run(on: client, keys: keys + indexKeys, args: args) { r in completion(r.map { _ in () }) }
    }

    /// The statuses the rules have now, recording nothing (hits out of the window are pruned).
    public func peek(_ rules: [QuotaRule], now: Double, completion: @escaping (Result<[QuotaStatus], RedisError>) -> Void) {
        run(rules, now: now, record: false) { completion($0.map(\.statuses)) }
    }

    /// Forgets an identity's hits on one route, or on all routes when `route` is nil
    /// (DELETE /admin/quotas). Answers the number of quota keys deleted.
    public func reset(identity: String, route: String?, completion: @escaping (Result<Int, RedisError>) -> Void) {
        let prefix = route.map { QuotaKey(identity: identity, route: $0, index: 0).description.dropLast(1) }.map(String.init) ?? ""
        resetScript.run(on: client, keys: [RedisQuotaScripts.indexKey(identity: identity)], args: [prefix]) { r in
            completion(r.flatMap { v in
                guard let n = v.int else { return .failure(.unexpectedReply("reset script: \(v)")) }
                return .success(Int(n))
            })
        }
    }

    /// An identity's live counters, sorted by route and index (GET /admin/quotas).
    public func entries(identity: String, now: Double,
                        completion: @escaping (Result<[(route: String, index: Int, used: Int)], RedisError>) -> Void) {
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        let prefix = "rampart:{\(identity)}:"
        entriesScript.run(on: client, keys: [RedisQuotaScripts.indexKey(identity: identity)], args: [String(nowMs)]) { r in
            completion(r.flatMap { v in
                guard let items = v.array, items.count % 2 == 0 else { return .failure(.unexpectedReply("entries script: \(v)")) }
                var found: [(route: String, index: Int, used: Int)] = []
                for j in stride(from: 0, to: items.count, by: 2) {
                    guard let key = items[j].string, let used = items[j + 1].int, key.hasPrefix(prefix) else { continue }
                    let rest = key.dropFirst(prefix.count)
                    guard let colon = rest.lastIndex(of: ":"), let index = Int(rest[rest.index(after: colon)...]) else { continue }
                    found.append((String(rest[..<colon]), index, Int(used)))
                }
                return .success(found.sorted { ($0.route, $0.index) < ($1.route, $1.index) })
            })
        }
    }

    // MARK: Internals

    private func run(_ rules: [QuotaRule], now: Double, record: Bool,
                     completion: @escaping (Result<QuotaDecision, RedisError>) -> Void) {
        let rules = distinct(rules)
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        guard !rules.isEmpty else { completion(.success(.allowed([]))); return }
        if client.isCluster, case let groups = Self.slotGroups(rules), groups.count > 1 {
            runBySlot(rules, groups: groups, now: now, record: record, completion: completion)
            return
        }
        counter &+= 1
        runScript(rules, nowMs: nowMs, member: "\(nowMs)-\(token)-\(counter)", record: record) { r in
            completion(r.map { RedisQuotaScripts.decision(rules, limited: $0.limited, states: $0.states, nowMs: nowMs) })
        }
    }

    /// One acquire script over rules that share a hash tag (all of them, on one Redis).
    func runScript(_ rules: [QuotaRule], nowMs: Int64, member: String, record: Bool,
                   completion: @escaping (Result<(limited: Bool, states: [RedisQuotaScripts.KeyState]), RedisError>) -> Void) {
        var keys = rules.map { $0.key.description }
        keys.append(contentsOf: rules.map { RedisQuotaScripts.indexKey(identity: $0.key.identity) })
        var args = [String(nowMs), member, record ? "1" : "0"]
        for rule in rules {
            args.append(String(QuotaSlidingWindow.windowMs(rule)))
            args.append(String(rule.limit))
            args.append(rule.unit == .tokens ? "t" : "r")
        }
        acquireScript.run(on: client, keys: keys, args: args) { r in
            switch r {
            case .failure(let e): completion(.failure(e))
            case .success(let v):
                do throws(RedisError) {
                    let (limited, states) = try RedisQuotaScripts.parseAcquireReply(v, keys: rules.count)
                    completion(.success((limited, states)))
                } catch {
                    completion(.failure(error))
                }
            }
        }
    }

    /// One log per key: a caller listing a key twice gets it counted once (as `MemoryQuotaStore`).
    func distinct(_ rules: [QuotaRule]) -> [QuotaRule] {
        guard rules.count > 1 else { return rules }
        var seen = Set<QuotaKey>()
        return rules.filter { seen.insert($0.key).inserted }
    }
}
