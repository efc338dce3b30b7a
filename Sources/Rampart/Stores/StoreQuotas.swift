import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The quota store as one loop sees it: the process-wide memory store (answers at once), or this
/// loop's Redis connection (answers later, on this loop).
public final class StoreQuotas: LoopQuotas {
    public let memory: MemoryQuotaStore?
    public let redis: RedisQuotaStore?

    init(memory: MemoryQuotaStore?, redis: RedisQuotaStore?) { self.memory = memory; self.redis = redis }

    public var isHealthy: Bool { redis?.isHealthy ?? true }
    public var lastError: String? { redis?.lastError }

    public func acquire(_ rules: [QuotaRule], now: Double, _ done: @escaping (Result<QuotaDecision, QuotaStoreUnavailable>) -> Void) {
        if let redis {
            redis.acquire(rules, now: now) { done($0.mapError { QuotaStoreUnavailable(reason: $0.description) }) }
        } else if let memory {
            done(.success(memory.acquire(rules, now: now)))
        } else {
            done(.success(.allowed([])))
        }
    }

    public func charge(_ rules: [QuotaRule], tokens: [Int], now: Double, _ done: @escaping (Result<Void, QuotaStoreUnavailable>) -> Void) {
        if let redis { redis.charge(rules, tokens: tokens, now: now) { done($0.mapError { QuotaStoreUnavailable(reason: $0.description) }) } }
        else { memory?.charge(rules, tokens: tokens, now: now); done(.success(())) }
    }

    public func peek(_ rules: [QuotaRule], now: Double, _ done: @escaping (Result<[QuotaStatus], QuotaStoreUnavailable>) -> Void) {
        if let redis { redis.peek(rules, now: now) { done($0.mapError { QuotaStoreUnavailable(reason: $0.description) }) } }
        else { done(.success(memory?.peek(rules, now: now) ?? [])) }
    }

    /// The most used live counters (`GET /admin/quotas/top`).
    public func top(limit: Int, route: String?, now: Double, _ done: @escaping (Result<QuotaTopResult, QuotaStoreUnavailable>) -> Void) {
        if let redis { redis.top(limit: limit, route: route, now: now) { done($0.mapError { QuotaStoreUnavailable(reason: $0.description) }) } }
        else { done(.success(memory?.top(limit: limit, route: route, now: now) ?? QuotaTopResult(uses: [], scannedKeys: 0, complete: true))) }
    }

    public func reset(identity: String, route: String?, _ done: @escaping (Result<Void, QuotaStoreUnavailable>) -> Void) {
        if let redis { redis.reset(identity: identity, route: route) { done($0.map { _ in () }.mapError { QuotaStoreUnavailable(reason: $0.description) }) } }
        else { memory?.reset(identity: identity, route: route); done(.success(())) }
    }
}
