import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// Cost budgets shared by every replica through Redis (SPEC §5): each charge is a member of a
/// sorted set per key (`rampart:{user:u1}:spend`, score = time in ms, member = time:nonce:usd),
/// trimmed to the longest budget window. A check sums the window in one Lua script and, when the
/// budget is spent, answers how long until enough spend leaves the window.
public final class RedisBudgetStore: SharedBudgets {
    public let client: any RedisConnection
    private var nonce: UInt64 = 0

    private let record = RedisScript(RedisBudgetStore.recordScript)
    private let check = RedisScript(RedisBudgetStore.checkScript)

    public init(client: any RedisConnection) { self.client = client }

    /// SCRIPT LOAD both scripts (loop thread); until then, and after a Redis restart, they run with EVAL.
    public func loadScripts(completion: ((Result<Void, RedisError>) -> Void)? = nil) {
        RedisScript.loadAll([record, check], on: client, completion: completion)
    }

    static func key(_ identity: String) -> String { "rampart:{\(identity)}:spend" }

    static let recordScript = """
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1] .. ':' .. ARGV[2] .. ':' .. ARGV[3])
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[4]))
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    return 1
    """

    /// Returns {spent as string, retry-after ms (0 when under budget)}.
    static let checkScript = """
    local now = tonumber(ARGV[1]); local window = tonumber(ARGV[2]); local limit = tonumber(ARGV[3])
    local items = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window), '+inf', 'WITHSCORES')
    local costs, scores, sum = {}, {}, 0
    for i = 1, #items, 2 do
      local usd = tonumber(string.match(items[i], ':([^:]+)$')) or 0
      sum = sum + usd
      table.insert(costs, usd); table.insert(scores, tonumber(items[i + 1]))
    end
    if sum < limit then return {tostring(sum), 0} end
    local left = sum
    for i = 1, #costs do
      left = left - costs[i]
      if left < limit then return {tostring(sum), scores[i] + window - now} end
    end
    return {tostring(sum), window}
    """

    /// Charges `usd` to `identity` at `now` (unix s); `horizon` is the longest budget window (s).
    public func record(identity: String, usd: Double, now: Double, horizon: Double) {
        guard usd > 0 else { return }
        nonce &+= 1
        let ms = Int64((now * 1000).rounded())
        record.run(on: client, keys: [Self.key(identity)], args: [String(ms), String(nonce), String(usd), String(Int64(horizon * 1000))]) { _ in }
    }

    /// Seconds until `identity` is back under `limit` dollars for `window` seconds (nil = under budget).
    public func retryAfter(identity: String, window: Double, limit: Double, now: Double,
                           completion: @escaping (Result<Int?, RedisError>) -> Void) {
        let ms = Int64((now * 1000).rounded())
        check.run(on: client, keys: [Self.key(identity)], args: [String(ms), String(Int64(window * 1000)), String(limit)]) { r in
            completion(r.flatMap { v in
                guard let items = v.array, items.count == 2, let waitMs = items[1].int else {
                    return .failure(.unexpectedReply("budget script: \(v)"))
                }
                return .success(waitMs <= 0 ? nil : max(1, Int((waitMs + 999) / 1000)))
            })
        }
    }
}
