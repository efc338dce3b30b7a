import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// Idempotency records in Redis, so a retry that lands on another replica still replays the first
/// response (SPEC §5: with the Redis store, idempotency records live there too).
///
/// One instance per event loop over that loop's `RedisClient` (the same client the quota store
/// uses); used only on the loop's thread, answering on it. `begin` is one atomic script, so two
/// replicas racing on one key cannot both proceed. Lifetimes are Redis's own (PX), so the `now`
/// arguments are unused here: records expire on Redis's clock, identically for every replica.
/// Scripts run with EVALSHA once loaded; until then, and after a NOSCRIPT (Redis restarted), EVAL.
public final class RedisIdempotencyStore: IdempotencyStore, @unchecked Sendable {
    public let client: any RedisConnection
    public var loop: EventLoop { client.loop }
    /// Process-wide ceiling on a stored body; routes pass their own limit to `complete(…, maxBodyBytes:)`.
    public let maxBodyBytes: Int
    /// How long an in-flight record lives (if the ttl is not shorter) before a crashed request's key frees itself.
    public let inFlightTimeout: Double

    private let beginScript = RedisScript(IdempotencyRedisScripts.begin)
    private let abandonScript = RedisScript(IdempotencyRedisScripts.abandon)

    public init(client: any RedisConnection, maxBodyBytes: Int = 8 << 20, inFlightTimeout: Double = 300) {
        self.client = client; self.maxBodyBytes = maxBodyBytes; self.inFlightTimeout = inFlightTimeout
    }

    /// Connects and loads the scripts (loop thread, at startup). Optional: without it the first
    /// command connects and scripts run with EVAL. `completion` reports whether both loaded.
    public func start(completion: ((Result<Void, RedisError>) -> Void)? = nil) {
        client.start()
        RedisScript.loadAll([beginScript, abandonScript], on: client, completion: completion)
    }

    public var scriptsLoaded: Bool { beginScript.sha != nil && abandonScript.sha != nil }
    public var isHealthy: Bool { client.isHealthy }

    // MARK: IdempotencyStore (loop thread)

    public func begin(identity: String, key: String, fingerprint: String, ttl: Double, now: Double,
                      completion: @escaping (Result<IdempotencyBegin, IdempotencyStoreError>) -> Void) {
        let record = IdempotencyRecord.inFlight(fingerprint: fingerprint).encoded()
        let px = IdempotencyRedisScripts.milliseconds(min(ttl, inFlightTimeout))
        eval(beginScript, key: IdempotencyRedisScripts.key(identity: identity, key: key), args: [record, Array(px.utf8)]) { r in
            switch r {
            case .failure(let e):
                completion(.failure(IdempotencyStoreError(e.description)))
            case .success(let v) where v.isNull:
                completion(.success(.proceed))
            case .success(.bulkString(let bytes?)):
                guard let existing = IdempotencyRecord.decode(bytes) else {
                    completion(.failure(IdempotencyStoreError("unreadable record under \(identity) key \(key)")))
                    return
                }
                completion(.success(existing.outcome(for: fingerprint)))
            case .success(let v):
                completion(.failure(IdempotencyStoreError("unexpected reply to begin: \(v)")))
            }
        }
    }

    public func complete(identity: String, key: String, fingerprint: String, response: StoredResponse, ttl: Double, now: Double) {
        complete(identity: identity, key: key, fingerprint: fingerprint, response: response, ttl: ttl, done: nil)
    }

    /// `complete` with an acknowledgement (tests; callers that want to log a failed write).
    public func complete(identity: String, key: String, fingerprint: String, response: StoredResponse, ttl: Double,
                         done: ((Result<Void, IdempotencyStoreError>) -> Void)?) {
        guard response.body.count <= maxBodyBytes else { abandon(identity: identity, key: key, done: done); return }
        let value = IdempotencyRecord.completed(fingerprint: fingerprint, response: response).encoded()
        let args: [[UInt8]] = [Array("SET".utf8), Array(IdempotencyRedisScripts.key(identity: identity, key: key).utf8), value,
                               Array("PX".utf8), Array(IdempotencyRedisScripts.milliseconds(ttl).utf8)]
        client.send(bytes: args) { r in done?(r.map { _ in () }.mapError { IdempotencyStoreError($0.description) }) }
    }

    public func abandon(identity: String, key: String) { abandon(identity: identity, key: key, done: nil) }

    /// `abandon` with an acknowledgement.
    public func abandon(identity: String, key: String, done: ((Result<Void, IdempotencyStoreError>) -> Void)?) {
        eval(abandonScript, key: IdempotencyRedisScripts.key(identity: identity, key: key), args: []) { r in
            done?(r.map { _ in () }.mapError { IdempotencyStoreError($0.description) })
        }
    }

    // MARK: Internals

    /// One key; arguments are bytes because records are binary.
    private func eval(_ script: RedisScript, key: String, args: [[UInt8]], completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        script.run(on: client, keys: [Array(key.utf8)], args: args, completion: completion)
    }
}
