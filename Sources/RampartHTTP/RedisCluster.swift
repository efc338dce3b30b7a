/// Redis Cluster's routing rules, pure: which of the 16384 slots a key hashes to, which key a command
/// is routed by, and the two replies a cluster client reads (MOVED/ASK redirections and CLUSTER
/// SLOTS). Table-tested, and fuzzed with the RESP decoder that feeds them.
public enum RedisCluster {
    public static let slotCount = 16384

    /// CRC16 (XMODEM, polynomial 0x1021) of the key's hash tag mod 16384, as every node computes it.
    /// The hash tag is the text between the first `{` and the first `}` after it, when not empty;
    /// otherwise the whole key is hashed. This is what lets `rampart:{user:u1}:…` keys share a slot.
    public static func slot(of key: some Collection<UInt8>) -> Int { slot(of: Array(key)) }

    /// The same for a key already in bytes (every command the cluster client routes).
    public static func slot(of bytes: [UInt8]) -> Int {
        var part = bytes[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            part = bytes[(open + 1)..<close]
        }
        var crc: UInt16 = 0
        for b in part { crc = (crc << 8) ^ crcTable[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ b)] }
        return Int(crc) & (slotCount - 1)
    }

    public static func slot(of key: String) -> Int { slot(of: key.utf8) }

    private static let crcTable: [UInt16] = (0..<256).map { i in
        var c = UInt16(i) << 8
        for _ in 0..<8 { c = c & 0x8000 != 0 ? (c << 1) ^ 0x1021 : c << 1 }
        return c
    }

    /// The key a command goes to a node by: the first key of EVAL/EVALSHA, the first argument of a
    /// keyed command, nil for commands any node answers (SCRIPT, PING, CLUSTER, WAIT, SCAN, INFO).
    public static func routingKey(of args: [[UInt8]]) -> [UInt8]? {
        guard let first = args.first else { return nil }
        // Command names are short ASCII: compared without making a String (this runs per command).
        var name = first
        if name.count > 16 { return args.count > 1 ? args[1] : nil }
        for i in name.indices where name[i] >= UInt8(ascii: "a") && name[i] <= UInt8(ascii: "z") { name[i] -= 32 }
        if scripts.contains(name) {
            guard args.count > 3, let n = Int(String(decoding: args[2], as: UTF8.self)), n > 0 else { return nil }
            return args[3]
        }
        if keyless.contains(name) { return nil }
        return args.count > 1 ? args[1] : nil
    }

    private static let scripts: Set<[UInt8]> = Set(["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"].map { Array($0.utf8) })
    private static let keyless: Set<[UInt8]> = Set(["SCRIPT", "PING", "CLUSTER", "WAIT", "SCAN", "INFO", "ASKING", "AUTH", "SELECT",
                                                     "READONLY", "DBSIZE", "HELLO"].map { Array($0.utf8) })

    /// A `-MOVED <slot> <host>:<port>` or `-ASK <slot> <host>:<port>` error reply.
    public struct Redirect: Sendable, Equatable {
        public enum Kind: Sendable { case moved, ask }
        public var kind: Kind
        public var slot: Int
        /// Empty when the node does not know its own address (`cluster-announce-*` unset and the
        /// endpoint unknown): the client then keeps the host it asked.
        public var host: String
        public var port: UInt16
        public init(kind: Kind, slot: Int, host: String, port: UInt16) {
            self.kind = kind; self.slot = slot; self.host = host; self.port = port
        }
    }

    /// Parses an error reply's text (without the leading `-`); nil when it is not a redirection.
    public static func redirect(_ message: String) -> Redirect? {
        let parts = message.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3 else { return nil }
        let kind: Redirect.Kind
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        guard let slot = Int(parts[1]), (0..<slotCount).contains(slot), let (host, port) = endpoint(parts[2]) else { return nil }
        return Redirect(kind: kind, slot: slot, host: host, port: port)
    }

    /// An error reply meaning the cluster cannot answer for now (electing a master, moving keys):
    /// Redis could not be asked, so the store's `on_unavailable` decides, as with Redis down.
    public static func isUnavailable(_ message: String) -> Bool {
        message.hasPrefix("CLUSTERDOWN") || message.hasPrefix("TRYAGAIN") || message.hasPrefix("MASTERDOWN")
    }

    /// The replicas a master lists in its `ROLE` reply (`["master", offset, [[host, port, offset], ...]]`);
    /// nil for another shape (a replica's reply).
    public static func replicaCount(ofRole reply: RESPValue) -> Int? {
        guard let items = reply.array, items.count >= 3, items[0].string == "master" else { return nil }
        return items[2].array?.count
    }

    /// `host:port`, split at the last colon so IPv6 addresses keep theirs (`::1:7000`).
    static func endpoint(_ text: Substring) -> (String, UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return (String(host), port)
    }

    /// One range of slots and the master that serves it.
    public struct SlotRange: Sendable, Equatable {
        public var first: Int
        public var last: Int
        public var host: String
        public var port: UInt16
        public init(first: Int, last: Int, host: String, port: UInt16) {
            self.first = first; self.last = last; self.host = host; self.port = port
        }
    }

    /// The masters of a `CLUSTER SLOTS` reply: `[[first, last, [host, port, id, …], replicas…], …]`.
    /// nil when the reply is not that shape or a range is out of bounds: a client must not route by a
    /// map it half understood. An empty host (or `?`) means "the node you asked"; it is kept empty.
    public static func slotRanges(_ reply: RESPValue) -> [SlotRange]? {
        guard let items = reply.array else { return nil }
        var out: [SlotRange] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let fields = item.array, fields.count >= 3,
                  let first = fields[0].int, let last = fields[1].int, first >= 0, first <= last, last < slotCount,
                  let master = fields[2].array, master.count >= 2,
                  let host = master[0].string, let port = master[1].int, port > 0, port <= 65535 else { return nil }
            out.append(SlotRange(first: Int(first), last: Int(last), host: host == "?" ? "" : host, port: UInt16(port)))
        }
        return out
    }
}
