import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// Keys and Lua scripts of the Redis save journal. Every key carries the `{saves}` hash tag, so
/// the scripts (which touch two keys) also run on Redis Cluster. Each script is atomic, so two
/// replicas replacing or removing the same save never leave the stream and the index apart.
public enum RedisSaveJournalScripts {
    /// A Stream; each entry has one field, `entry`, holding the save's JSON line.
    public static let journalKey = "rampart:{saves}:journal"
    /// A Hash: save id → its stream entry id.
    public static let indexKey = "rampart:{saves}:index"
    /// Held by the replica resuming a pending save (`SET … NX PX`).
    public static func claimKey(_ id: String) -> String { "rampart:{saves}:claim:\(id)" }
    /// How long a claim holds: longer than any save runs.
    public static let claimMilliseconds = "300000"

    /// Replaces the entry with the same id, if any, then adds this one.
    /// KEYS: journal, index. ARGV: save id, JSON line. Reply: the new stream entry id.
    public static let append = """
    local old = redis.call('HGET', KEYS[2], ARGV[1])
    if old then redis.call('XDEL', KEYS[1], old) end
    local sid = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[2])
    redis.call('HSET', KEYS[2], ARGV[1], sid)
    return sid
    """

    /// KEYS: journal, index. ARGV: save id. Reply: 1 if it was there, else 0.
    public static let remove = """
    local sid = redis.call('HGET', KEYS[2], ARGV[1])
    if not sid then return 0 end
    redis.call('XDEL', KEYS[1], sid)
    redis.call('HDEL', KEYS[2], ARGV[1])
    return 1
    """
}
