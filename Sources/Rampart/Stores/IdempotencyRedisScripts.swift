import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The Lua scripts of the Redis idempotency store. Each runs atomically in Redis, which is what
/// makes two replicas racing on one key safe: exactly one of them creates the in-flight record.
///
/// Key: `rampart:{<identity>}:idem:<key>`, with the same `{identity}` hash tag as the quota keys so
/// one identity's records stay in one Cluster slot. Value: an `IdempotencyRecord` in binary.
public enum IdempotencyRedisScripts {
    public static func key(identity: String, key: String) -> String { "rampart:{\(identity)}:idem:\(key)" }

    /// Returns the existing record, or creates the in-flight one and returns nil.
    /// KEYS: the record key. ARGV: the in-flight record, its lifetime in ms.
    public static let begin = """
    local v = redis.call('GET', KEYS[1])
    if v then return v end
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return false
    """

    /// Deletes the record only while it is in flight (its first byte is `I`), so a late abandon
    /// never throws away a response another request already stored.
    /// KEYS: the record key. Reply: 1 if deleted, else 0.
    public static let abandon = """
    local v = redis.call('GET', KEYS[1])
    if v and string.sub(v, 1, 1) == 'I' then return redis.call('DEL', KEYS[1]) end
    return 0
    """

    /// Seconds to whole milliseconds for PX, at least 1 (PX 0 is an error).
    static func milliseconds(_ seconds: Double) -> String {
        guard !seconds.isNaN else { return "1" }
        return String(Int64(min(max((seconds * 1000).rounded(.up), 1), 9e15)))
    }
}
