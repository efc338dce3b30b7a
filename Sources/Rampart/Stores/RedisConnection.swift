import RampartHTTP
import RampartLoop

/// What the Redis stores send their commands through, on one event loop: one node (`RedisClient`)
/// or a whole cluster (`RedisClusterClient`, which routes each command by its key's slot). Both are
/// non-blocking and answer on the loop's thread.
public protocol RedisConnection: AnyObject {
    var loop: EventLoop { get }
    /// Ready to carry commands (for `/readyz` and `/admin/status`; any thread).
    var isHealthy: Bool { get }
    /// The latest failure, nil once things work again (any thread).
    var lastError: String? { get }
    /// Starts connecting; the first command does too. Idempotent.
    func start()
    /// Fails every pending command with `.closed` and stops reconnecting.
    func close()
    /// One command as bulk strings; `completion` runs on the loop with the reply, an error reply as `.server`.
    func send(bytes args: [[UInt8]], completion: @escaping RedisClient.Completion)
    /// The nodes holding keys, for the commands that walk a keyspace (SCAN): the node itself, or the
    /// cluster's masters.
    var keyspaceNodes: [RedisClient] { get }
    /// Keys of different hash tags may live on different nodes, so one script must not mix them.
    var isCluster: Bool { get }
}

extension RedisConnection {
    public func send(_ args: [String], completion: @escaping RedisClient.Completion) {
        send(bytes: args.map { Array($0.utf8) }, completion: completion)
    }
}

extension RedisClient: RedisConnection {
    public var keyspaceNodes: [RedisClient] { [self] }
    public var isCluster: Bool { false }
}
