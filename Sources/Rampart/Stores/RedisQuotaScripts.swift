import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The Lua scripts of the Redis quota store and the pure code that turns their replies into the
/// same `QuotaDecision`/`QuotaStatus` the memory store computes (`QuotaSlidingWindow`, `QuotaLog`).
///
/// Layout per quota key (`QuotaKey.description`, e.g. `rampart:{user:u1}:chat:0`): a sorted set
/// whose scores are the hit times in unix milliseconds (members are unique per request). Per
/// identity, `rampart:{<identity>}:quota-index` is a hash from quota key to its window (ms): it lets
/// `reset` and `entries` find an identity's quota keys without SCAN and without touching other
/// records stored under the same hash tag (idempotency, budgets). Every key of one identity shares
/// the `{identity}` hash tag.
public enum RedisQuotaScripts {
    /// The index key of an identity's quota keys.
    public static func indexKey(identity: String) -> String { "rampart:{\(identity)}:quota-index" }

    /// The decision, mirroring `QuotaSlidingWindow.decide` step by step: prune every log
    /// (a hit at t counts while now - t < window), check every limit, and only if all have room
    /// record the hit in every request key's log at max(now, newest hit) (time never goes backwards
    /// in a log). A token key (unit "t") is only checked: its use is the sum of its members' tokens
    /// (`<tokens>|<id>`; a member without that prefix weighs 1), and its "kth" is the charge whose
    /// expiry brings the rest under the limit (`QuotaLog.roomAt`). The `charge` script fills it.
    ///
    /// KEYS: the n quota keys, then their n index keys.
    /// ARGV: now ms, unique member, record ("1") or peek ("0"), then per key: window ms, limit, unit ("r"|"t").
    /// Reply: {limited 0|1, then per key: count (tokens for a token key), oldest score or "",
    /// score at count-limit (or the token walk's) or ""} (counts after recording when allowed).
    public static let acquire = """
    local n = #KEYS / 2
    local now = tonumber(ARGV[1])
    local member = ARGV[2]
    local record = ARGV[3] == '1'
    local counts, oldest, kth, tokens = {}, {}, {}, {}
    local limited = 0
    local function weight(m)
      local w = string.match(m, '^(%d+)|')
      if w then return tonumber(w) end
      return 1
    end
    for i = 1, n do
      local window = tonumber(ARGV[1 + 3 * i])
      local limit = tonumber(ARGV[2 + 3 * i])
      tokens[i] = ARGV[3 + 3 * i] == 't'
      redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', string.format('%d', now - window))
      if tokens[i] then
        local all = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
        local used = 0
        for j = 1, #all, 2 do used = used + weight(all[j]) end
        counts[i] = used
        oldest[i] = all[2] or ''
        kth[i] = ''
        if used >= limit then
          limited = 1
          local left = used
          for j = 1, #all, 2 do
            left = left - weight(all[j])
            if left < limit then kth[i] = all[j + 1]; break end
          end
        end
      else
        local c = redis.call('ZCARD', KEYS[i])
        counts[i] = c
        if c >= limit then limited = 1 end
      end
    end
    if limited == 0 and record then
      for i = 1, n do
        if not tokens[i] then
          local window = tonumber(ARGV[1 + 3 * i])
          local t = now
          local newest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
          if newest[2] ~= nil and tonumber(newest[2]) > t then t = tonumber(newest[2]) end
          redis.call('ZADD', KEYS[i], string.format('%d', t), member)
          local ttl = window + (t - now)
          redis.call('PEXPIRE', KEYS[i], string.format('%d', ttl))
          local idx = KEYS[n + i]
          redis.call('HSET', idx, KEYS[i], string.format('%d', window))
          if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, string.format('%d', ttl)) end
          counts[i] = counts[i] + 1
        end
      end
    end
    local out = {limited}
    for i = 1, n do
      local limit = tonumber(ARGV[2 + 3 * i])
      local c = counts[i]
      if not tokens[i] then
        oldest[i] = ''
        kth[i] = ''
        if c > 0 then
          oldest[i] = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2]
          if limit >= 1 and c >= limit then
            kth[i] = redis.call('ZRANGE', KEYS[i], c - limit, c - limit, 'WITHSCORES')[2]
          end
        end
      end
      out[#out + 1] = c
      out[#out + 1] = oldest[i]
      out[#out + 1] = kth[i]
    end
    return out
    """

    /// Charges a call's tokens to its token quotas (SPEC §11.2), after the call: prunes each key and
    /// adds one member `<tokens>|<unique id>` at max(now, newest) (as `QuotaLog.charge`), keeps the
    /// key alive one window past it and indexes it with its window as "t<ms>" so `entries` sums tokens.
    /// KEYS: the n token keys, then their n index keys. ARGV: now ms, unique id, then per key: window ms, tokens.
    public static let charge = """
    local n = #KEYS / 2
    local now = tonumber(ARGV[1])
    for i = 1, n do
      local window = tonumber(ARGV[1 + 2 * i])
      local tokens = ARGV[2 + 2 * i]
      redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', string.format('%d', now - window))
      if tonumber(tokens) > 0 then
        local t = now
        local newest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
        if newest[2] ~= nil and tonumber(newest[2]) > t then t = tonumber(newest[2]) end
        redis.call('ZADD', KEYS[i], string.format('%d', t), tokens .. '|' .. ARGV[2])
        local ttl = window + (t - now)
        redis.call('PEXPIRE', KEYS[i], string.format('%d', ttl))
        local idx = KEYS[n + i]
        redis.call('HSET', idx, KEYS[i], 't' .. string.format('%d', window))
        if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, string.format('%d', ttl)) end
      end
    end
    return n
    """

    /// An identity's live counters, pruned at `now` with each key's recorded window: hits, or tokens
    /// for a key indexed as a token quota's ("t<window ms>").
    /// KEYS: the index key. ARGV: now ms. Reply: {key, count, key, count, ...} (non-empty keys only).
    /// The quota keys are not in KEYS but share the index key's hash tag (same Cluster slot).
    public static let entries = """
    local now = tonumber(ARGV[1])
    local idx = redis.call('HGETALL', KEYS[1])
    local out = {}
    for j = 1, #idx, 2 do
      local key = idx[j]
      local tokens = string.sub(idx[j + 1], 1, 1) == 't'
      local window = tonumber(tokens and string.sub(idx[j + 1], 2) or idx[j + 1])
      redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%d', now - window))
      local c = 0
      if tokens then
        local all = redis.call('ZRANGE', key, 0, -1)
        for _, m in ipairs(all) do c = c + (tonumber(string.match(m, '^(%d+)|') or '1')) end
      else
        c = redis.call('ZCARD', key)
      end
      if c > 0 then
        out[#out + 1] = key
        out[#out + 1] = c
      else
        redis.call('HDEL', KEYS[1], key)
      end
    end
    return out
    """

    /// Forgets an identity's hits on one route (ARGV[1] = key prefix of that route, e.g.
    /// `rampart:{user:u1}:chat:`) or on all routes (ARGV[1] = ""). KEYS: the index key.
    /// Reply: the number of quota keys deleted.
    public static let reset = """
    local prefix = ARGV[1]
    local idx = redis.call('HKEYS', KEYS[1])
    local deleted = 0
    for _, key in ipairs(idx) do
      local rest = string.sub(key, #prefix + 1)
      if string.sub(key, 1, #prefix) == prefix and (prefix == '' or string.find(rest, '^%d+$')) then
        deleted = deleted + redis.call('DEL', key)
        redis.call('HDEL', KEYS[1], key)
      end
    end
    if prefix == '' then redis.call('DEL', KEYS[1]) end
    return deleted
    """

    /// Takes back a hit `acquire` recorded, when another slot's keys of the same request said no
    /// (Redis Cluster runs one script per hash tag). KEYS: the group's quota keys. ARGV: the member.
    public static let refund = """
    for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
    return #KEYS
    """

    // MARK: Pure reply handling

    /// One key's part of the acquire reply.
    public struct KeyState: Sendable, Equatable {
        public var count: Int
        /// The oldest hit still in the window (ms), nil when empty.
        public var oldest: Int64?
        /// The hit at position count - limit (ms), present when count >= limit >= 1.
        public var kth: Int64?
        public init(count: Int, oldest: Int64?, kth: Int64?) { self.count = count; self.oldest = oldest; self.kth = kth }
    }

    /// `QuotaLog.roomAt`: when the log next has room under `limit`.
    static func roomAt(_ s: KeyState, limit: Int, windowMs: Int64, nowMs: Int64) -> Int64 {
        guard limit >= 1 else { return nowMs + windowMs }
        guard s.count >= limit, let kth = s.kth else { return nowMs }
        return kth + windowMs
    }

    /// `QuotaLog.status`: the client's view of one key.
    public static func status(_ s: KeyState, limit: Int, windowMs: Int64, nowMs: Int64) -> QuotaStatus {
        let remaining = max(0, limit - s.count)
        let resetAt: Int64
        if s.count == 0 { resetAt = nowMs }
        else if remaining == 0 { resetAt = roomAt(s, limit: limit, windowMs: windowMs, nowMs: nowMs) }
        else { resetAt = (s.oldest ?? nowMs) + windowMs }
        return QuotaStatus(limit: limit, remaining: remaining, resetAfter: Double(resetAt - nowMs) / 1000,
                           window: Double(windowMs) / 1000)
    }

    /// Parses the acquire script's reply: (limited, per-key states).
    public static func parseAcquireReply(_ reply: RESPValue, keys: Int) throws(RedisError) -> (limited: Bool, [KeyState]) {
        guard let items = reply.array, items.count == 1 + 3 * keys, let flag = items[0].int else {
            throw .unexpectedReply("quota script: \(reply)")
        }
        var states: [KeyState] = []
        states.reserveCapacity(keys)
        for i in 0..<keys {
            guard let count = items[1 + 3 * i].int else { throw .unexpectedReply("quota script count: \(items[1 + 3 * i])") }
            states.append(KeyState(count: Int(count), oldest: score(items[2 + 3 * i]), kth: score(items[3 + 3 * i])))
        }
        return (flag != 0, states)
    }

    /// A ZSET score in ms ("" or null: none). Scores are whole ms but Redis may print them as doubles.
    static func score(_ v: RESPValue) -> Int64? {
        guard let s = v.string, !s.isEmpty else { return nil }
        if let i = Int64(s) { return i }
        return Double(s).map { Int64($0.rounded()) }
    }

    /// The decision from the per-key states, exactly as `QuotaSlidingWindow.decide` computes it.
    public static func decision(_ rules: [QuotaRule], limited: Bool, states: [KeyState], nowMs: Int64) -> QuotaDecision {
        var waitMs: Int64 = 0
        var statuses: [QuotaStatus] = []
        statuses.reserveCapacity(rules.count)
        for i in rules.indices {
            let w = QuotaSlidingWindow.windowMs(rules[i])
            if limited && states[i].count >= rules[i].limit {
                waitMs = max(waitMs, roomAt(states[i], limit: rules[i].limit, windowMs: w, nowMs: nowMs) - nowMs)
            }
            statuses.append(status(states[i], limit: rules[i].limit, windowMs: w, nowMs: nowMs))
        }
        return limited ? .limited(retryAfter: QuotaSlidingWindow.retryAfter(ms: waitMs), statuses) : .allowed(statuses)
    }
}
