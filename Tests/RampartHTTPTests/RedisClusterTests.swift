import RampartHTTP
import Testing

/// Redis Cluster's routing rules as every node computes them (the examples of the cluster spec).
@Suite struct RedisClusterRoutingTests {
    @Test func slotsMatchRedis() {
        #expect(RedisCluster.slot(of: "123456789") == 12739, "CRC16-XMODEM check value 0x31C3")
        #expect(RedisCluster.slot(of: "{saves}") == 3249, "CLUSTER KEYSLOT {saves} on redis-server 7")
        #expect(RedisCluster.slot(of: "") == 0)
        // Hash tags: the first {…} with something inside decides.
        #expect(RedisCluster.slot(of: "{user1000}.following") == RedisCluster.slot(of: "{user1000}.followers"))
        #expect(RedisCluster.slot(of: "rampart:{user:u1}:chat:0") == RedisCluster.slot(of: "user:u1"))
        #expect(RedisCluster.slot(of: "foo{}{bar}") == RedisCluster.slot(of: "foo{}{bar}".utf8), "an empty tag hashes the whole key")
        #expect(RedisCluster.slot(of: "foo{}{bar}") != RedisCluster.slot(of: "bar"))
        #expect(RedisCluster.slot(of: "foo{{bar}}zap") == RedisCluster.slot(of: "{bar"))
        #expect(RedisCluster.slot(of: "foo{bar}{zap}") == RedisCluster.slot(of: "bar"))
        #expect(RedisCluster.slot(of: "no-close{brace") == RedisCluster.slot(of: "no-close{brace".utf8))
    }

    @Test func commandsAreRoutedByTheirFirstKey() {
        func key(_ args: [String]) -> String? { RedisCluster.routingKey(of: args.map { Array($0.utf8) }).map { String(decoding: $0, as: UTF8.self) } }
        #expect(key(["EVALSHA", "abc", "2", "k1", "k2", "arg"]) == "k1")
        #expect(key(["eval", "return 1", "0", "arg"]) == nil, "a script without keys goes anywhere")
        #expect(key(["EVAL", "return 1", "x"]) == nil)
        #expect(key(["HGETALL", "rampart:{usage:*}:m:1"]) == "rampart:{usage:*}:m:1")
        #expect(key(["SET", "k", "v", "PX", "10"]) == "k")
        #expect(key(["SCRIPT", "LOAD", "return 1"]) == nil)
        #expect(key(["SCAN", "0"]) == nil && key(["WAIT", "1", "100"]) == nil && key(["PING"]) == nil && key([]) == nil)
    }

    @Test func redirectionsAreParsed() {
        #expect(RedisCluster.redirect("MOVED 3999 127.0.0.1:6381") == .init(kind: .moved, slot: 3999, host: "127.0.0.1", port: 6381))
        #expect(RedisCluster.redirect("ASK 3999 10.0.0.2:7000") == .init(kind: .ask, slot: 3999, host: "10.0.0.2", port: 7000))
        #expect(RedisCluster.redirect("MOVED 1 ::1:7000") == .init(kind: .moved, slot: 1, host: "::1", port: 7000))
        #expect(RedisCluster.redirect("MOVED 1 [::1]:7000")?.host == "::1")
        #expect(RedisCluster.redirect("MOVED 1 :7000") == .init(kind: .moved, slot: 1, host: "", port: 7000), "unknown endpoint: same host")
        for bad in ["MOVED 16384 h:1", "MOVED -1 h:1", "MOVED 1 h", "MOVED 1 h:0", "MOVED 1 h:70000", "ERR MOVED 1 h:1", "MOVED 1", "NOSCRIPT No matching script"] {
            #expect(RedisCluster.redirect(bad) == nil, "\(bad)")
        }
    }

    @Test func clusterSlotsRepliesAreRead() {
        func node(_ host: String, _ port: Int64) -> RESPValue { .array([.bulk(host), .integer(port), .bulk("id")]) }
        let reply = RESPValue.array([
            .array([.integer(0), .integer(5460), node("127.0.0.1", 7000), node("127.0.0.1", 7003)]),
            .array([.integer(5461), .integer(16383), node("", 7001)]),
        ])
        #expect(RedisCluster.slotRanges(reply) == [.init(first: 0, last: 5460, host: "127.0.0.1", port: 7000),
                                                   .init(first: 5461, last: 16383, host: "", port: 7001)])
        #expect(RedisCluster.slotRanges(.array([])) == [])
        for bad: RESPValue in [.integer(1), .array([.array([.integer(5), .integer(4), node("h", 1)])]),
                               .array([.array([.integer(0), .integer(16384), node("h", 1)])]),
                               .array([.array([.integer(0), .integer(1), node("h", 0)])]),
                               .array([.array([.integer(0), .integer(1)])])] {
            #expect(RedisCluster.slotRanges(bad) == nil, "\(bad)")
        }
    }
}
