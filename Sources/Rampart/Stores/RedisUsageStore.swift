import RampartHTTP
import RampartLoop
import RampartProxy
import RampartTransport

/// AI usage in Redis, so every replica's `/admin/usage` reads the fleet's totals (SPEC §11.8): each
/// call adds its counts to a per-minute hash (kept an hour) and a per-hour hash (kept a day and an
/// hour) of its key and of everyone (`*`), fields `<model>|<measure>`, in one script per key (the
/// key's hash tag keeps both on one Cluster slot). The last hour is read from its 60 minute
/// hashes, the last day from its 25 hour hashes (so up to an hour more, never less).
public final class RedisUsageStore: SharedUsage {
    public let client: any RedisConnection
    private let add = RedisScript(RedisUsageStore.addScript)

    public init(client: any RedisConnection) { self.client = client }

    public func loadScripts() { RedisScript.loadAll([add], on: client, completion: nil) }

    static let measures = ["requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "usd"]

    static func key(_ key: String, _ unit: String, _ index: Int) -> String { "rampart:{usage:\(key)}:\(unit):\(index)" }

    /// KEYS: minute hash, hour hash. ARGV: model, then one value per measure (usd as a float).
    static let addScript = """
    local names = {'requests', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens'}
    for k = 1, 2 do
      for i, name in ipairs(names) do redis.call('HINCRBY', KEYS[k], ARGV[1] .. '|' .. name, ARGV[i + 1]) end
      redis.call('HINCRBYFLOAT', KEYS[k], ARGV[1] .. '|usd', ARGV[7])
    end
    redis.call('EXPIRE', KEYS[1], 3660)
    redis.call('EXPIRE', KEYS[2], 90000)
    return 1
    """

    public func record(key: String, model: String, usage: TokenUsage, cost: Double?, now: Double) {
        let minute = Int(now / 60), hour = Int(now / 3600)
        let args = [model.replacingOccurrences(of: "|", with: "/"), "1", String(usage.inputTokens), String(usage.outputTokens),
                    String(usage.cacheReadTokens), String(usage.cacheWriteTokens), String(max(0, cost ?? 0))]
        for k in [key, "*"] {
            add.run(on: client, keys: [Self.key(k, "m", minute), Self.key(k, "h", hour)], args: args) { _ in }
        }
    }

    public func totals(key: String, now: Double, completion: @escaping (Result<[UsageWindowTotals], RedisError>) -> Void) {
        let minute = Int(now / 60), hour = Int(now / 3600)
        let hourKeys = (0..<60).map { Self.key(key, "m", minute - $0) }
        let dayKeys = (0..<25).map { Self.key(key, "h", hour - $0) }
        var sums: [[String: UsageTotals]] = [[:], [:]]
        var waiting = hourKeys.count + dayKeys.count
        var failure: RedisError?
        for (window, keys) in [(0, hourKeys), (1, dayKeys)] {
            for k in keys {
                client.send(["HGETALL", k]) { reply in
                    switch reply {
                    case .failure(let e): failure = e
                    case .success(let v): Self.add(v.array ?? [], into: &sums[window])
                    }
                    waiting -= 1
                    guard waiting == 0 else { return }
                    if let failure { completion(.failure(failure)); return }
                    completion(.success([UsageWindowTotals(window: 3600, perModel: sums[0]), UsageWindowTotals(window: 86_400, perModel: sums[1])]))
                }
            }
        }
    }

    /// Adds an HGETALL reply's `model|measure` fields to the per-model totals.
    static func add(_ flat: [RESPValue], into totals: inout [String: UsageTotals]) {
        var i = 0
        while i + 1 < flat.count {
            defer { i += 2 }
            guard let field = flat[i].string, let value = flat[i + 1].string, let bar = field.lastIndex(of: "|") else { continue }
            let model = String(field[..<bar]), measure = field[field.index(after: bar)...]
            var t = totals[model] ?? UsageTotals()
            let n = Int(value) ?? 0
            switch measure {
            case "requests": t.requests += n
            case "input_tokens": t.inputTokens += n
            case "output_tokens": t.outputTokens += n
            case "cache_read_tokens": t.cacheReadTokens += n
            case "cache_write_tokens": t.cacheWriteTokens += n
            case "usd": t.usd += Double(value) ?? 0
            default: continue
            }
            totals[model] = t
        }
    }
}
