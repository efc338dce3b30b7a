import Foundation
import Glibc
import RampartHTTP
import Testing

/// A real Redis Cluster on 127.0.0.1: three masters with one replica each, every node a
/// `redis-server` with its client and bus ports picked free (`cluster-port`), formed by hand with
/// CLUSTER ADDSLOTSRANGE, MEET and REPLICATE (what `redis-cli --cluster create` does), so the
/// test knows which node is which. `cluster-node-timeout` is 2 s: a killed master is replaced a
/// few seconds later.
final class RedisClusterServers: @unchecked Sendable {
    final class Node: @unchecked Sendable {
        let port: UInt16
        let busPort: UInt16
        var child: ChildProcess?
        init(port: UInt16, busPort: UInt16) { self.port = port; self.busPort = busPort }
    }

    let nodes: [Node]
    let dir = NSTemporaryDirectory() + "rampart-cluster-" + UUID().uuidString
    /// `requirepass` (and `masterauth`, so replicas can sync) on every node, when set.
    let password: String?

    init(password: String? = nil) throws {
        self.password = password
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var ports = Set<UInt16>()
        while ports.count < 12 { ports.insert(freePort()) }
        let list = Array(ports)
        nodes = (0..<6).map { Node(port: list[2 * $0], busPort: list[2 * $0 + 1]) }
        for node in nodes {
            node.child = try ChildProcess(RedisServer.executable, [
                "--port", String(node.port), "--cluster-port", String(node.busPort), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", "\(dir)/nodes-\(node.port).conf",
                "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no", "--dir", dir]
                + (password.map { ["--requirepass", $0, "--masterauth", $0] } ?? []))
            _ = try node.child?.waitForLine(containing: "Ready to accept connections")
        }
        let thirds = [(0, 5460), (5461, 10922), (10923, 16383)]
        for (i, (first, last)) in thirds.enumerated() {
            _ = try cli(nodes[i].port, ["CLUSTER", "ADDSLOTSRANGE", String(first), String(last)])
        }
        for node in nodes.dropFirst() {
            _ = try cli(node.port, ["CLUSTER", "MEET", "127.0.0.1", String(nodes[0].port), String(nodes[0].busPort)])
        }
        try eventually(timeout: 30, "all six nodes know each other") {
            try nodes.allSatisfy { try clusterNodes($0.port).count == 6 }
        }
        for i in 0..<3 {
            let id = try cli(nodes[i].port, ["CLUSTER", "MYID"]).first ?? ""
            try eventually(timeout: 30, "node \(i + 3) replicates node \(i)") {
                (try cli(nodes[i + 3].port, ["CLUSTER", "REPLICATE", id]).first ?? "") == "OK"
            }
        }
        try waitUntilServing()
    }

    deinit {
        for node in nodes { node.child?.stop() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The seed list for `store.cluster`: every node, as an ops team would list them.
    var seedsJSON: String { "[" + nodes.map { "\"127.0.0.1:\($0.port)\"" }.joined(separator: ", ") + "]" }

    /// One command to one node over a fresh connection, its reply flattened to lines the way
    /// `redis-cli` prints them (a test spawning hundreds of redis-cli processes strains the runner).
    func cli(_ port: UInt16, _ args: [String]) throws -> [String] {
        let connection = try HTTPClient(port: port, timeout: 10)
        if let password { try connection.send(RESPEncoder.command(["AUTH", password])) }
        try connection.send(RESPEncoder.command(args))
        var decoder = RESPDecoder()
        var authReply = password == nil
        while true {
            decoder.feed(connection.peekBuffer()[...])
            connection.clearBuffer()
            while let reply = try decoder.next() {
                if !authReply { authReply = true; _ = try Self.lines(reply, for: ["AUTH"]); continue }
                return try Self.lines(reply, for: args)
            }
            guard try connection.fill() else { throw TestFailure("\(port) closed the connection on \(args)") }
        }
    }

    private static func lines(_ v: RESPValue, for args: [String]) throws -> [String] {
        switch v {
        case .error(let m): throw TestFailure("\(args): \(m)")
        case .integer(let i): return [String(i)]
        case .array(let items?): return try items.flatMap { try lines($0, for: args) }
        case .simpleString, .bulkString: return (v.string ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        default: return []
        }
    }

    /// CLUSTER NODES as seen by one node: one entry per node.
    func clusterNodes(_ port: UInt16) throws -> [(id: String, port: UInt16, flags: String, master: String, slots: [ClosedRange<Int>])] {
        try cli(port, ["CLUSTER", "NODES"]).compactMap { line in
            let f = line.split(separator: " ").map(String.init)
            guard f.count >= 8, let colon = f[1].firstIndex(of: ":"), let at = f[1].firstIndex(of: "@"),
                  let p = UInt16(f[1][f[1].index(after: colon)..<at]) else { return nil }
            let slots: [ClosedRange<Int>] = f.dropFirst(8).compactMap { r in
                let ends = r.split(separator: "-").compactMap { Int($0) }
                return ends.count == 2 ? ends[0]...ends[1] : ends.count == 1 ? ends[0]...ends[0] : nil
            }
            return (f[0], p, f[2], f[3], slots)
        }
    }

    func slot(of key: String) throws -> Int {
        guard let s = try cli(nodes[0].port, ["CLUSTER", "KEYSLOT", key]).first.flatMap({ Int($0) }) else { throw TestFailure("no slot for \(key)") }
        return s
    }

    /// The live node serving `slot` as master, asked of a live node.
    func master(ofSlot slot: Int) throws -> Node {
        let live = nodes.first { $0.child != nil }!
        guard let entry = try clusterNodes(live.port).first(where: { $0.flags.contains("master") && !$0.flags.contains("fail") && $0.slots.contains { $0.contains(slot) } }),
              let node = nodes.first(where: { $0.port == entry.port }) else { throw TestFailure("no live master for slot \(slot)") }
        return node
    }

    func id(of node: Node) throws -> String { try cli(node.port, ["CLUSTER", "MYID"]).first ?? "" }

    /// Kills a node (SIGKILL, as a crash would).
    func kill(_ node: Node) {
        node.child?.stop()
        node.child = nil
    }

    /// Every slot has a live master, every live node says `cluster_state:ok`, and every master's
    /// replica has all its writes (so killing a master next loses nothing that was acknowledged).
    func waitUntilServing(timeout: Double = 60) throws {
        var waitingFor = ""
        do { try serving(timeout: timeout) { waitingFor = $0 } } catch { throw TestFailure("\(error); last seen: \(waitingFor)") }
    }

    private func serving(timeout: Double, _ note: (String) -> Void) throws {
        try eventually(timeout: timeout, "the cluster serves every slot with its writes replicated") {
            let live = nodes.filter { $0.child != nil }
            for node in live where !(try cli(node.port, ["CLUSTER", "INFO"]).contains("cluster_state:ok")) {
                note("\(node.port): \(try cli(node.port, ["CLUSTER", "INFO"]).prefix(3))")
                return false
            }
            for node in live where try cli(node.port, ["ROLE"]).first == "master" {
                let view = try clusterNodes(node.port)
                guard let me = view.first(where: { $0.flags.contains("myself") }) else { return false }
                let replicas = view.filter { r in r.master == me.id && !r.flags.contains("fail") && live.contains { $0.port == r.port } }
                guard !replicas.isEmpty else { continue }
                let info = try cli(node.port, ["INFO", "replication"])
                guard let offset = info.first(where: { $0.hasPrefix("master_repl_offset:") }).flatMap({ Int($0.split(separator: ":")[1]) }) else { return false }
                let replicaOffsets = info.filter { $0.hasPrefix("slave") && $0.contains("offset=") }.compactMap { line in
                    line.split(separator: ",").first { $0.hasPrefix("offset=") }.flatMap { Int($0.dropFirst(7)) }
                }
                if replicaOffsets.count < replicas.count || replicaOffsets.contains(where: { $0 < offset }) {
                    note("\(node.port): \(replicas.count) replicas, \(info)")
                    return false
                }
            }
            return true
        }
    }
}
