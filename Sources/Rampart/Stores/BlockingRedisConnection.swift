import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
import CLinux
import Foundation
import Glibc

/// One blocking connection to Redis for rare paths (the save journal), unlike the pipelined
/// non-blocking `RedisClient` of the hot path. Each call writes its commands at once and waits for
/// the replies, every socket operation bounded by `timeoutMs`. Any failure closes the socket and
/// the next call reconnects, except that after a failed connect calls fail fast for `holdOffMs`
/// (a Redis that is gone costs one timeout per `holdOffMs`, not one per call). Not thread-safe:
/// the owner serialises calls (`RedisSaveJournal` keeps it in a `Mutex`).
///
/// On Redis Cluster (`nodes` are the seeds) it talks to the master of the one slot its caller's keys
/// share: a connect failure tries the next node, and a MOVED or ASK reply is followed.
final class BlockingRedisConnection {
    /// The node connected to (or to try first).
    private(set) var url: RedisURL
    /// Every node that may be asked: the URL alone, or the cluster's seeds plus nodes learned from MOVED.
    private var nodes: [RedisURL]
    let cluster: Bool
    /// Replicas of the connected master (ROLE, asked at connect on a cluster), so callers know
    /// whether `WAIT` can confirm a write reached one.
    private(set) var replicas = 0
    let timeoutMs: Int
    let holdOffMs: Int
    private var fd: Int32 = -1
    private var decoder = RESPDecoder()
    private var retryAt: UInt64 = 0
    private var readScratch = [UInt8](repeating: 0, count: 64 * 1024)
    /// The latest failure; nil once a call worked.
    /// Deadlines and the hold-off are measured with it (injected, like every clock in Rampart).
    private let clock: any Clock
    private(set) var lastError: String?

    init(url: RedisURL, timeoutMs: Int = 2000, holdOffMs: Int = 1000, clock: any Clock = SystemClock()) {
        self.clock = clock
        self.url = url; self.nodes = [url]; self.cluster = false; self.timeoutMs = timeoutMs; self.holdOffMs = holdOffMs
    }

    init(target: RedisTarget, timeoutMs: Int = 2000, holdOffMs: Int = 1000, clock: any Clock = SystemClock()) {
        self.clock = clock
        nodes = target.nodes
        url = nodes[0]
        if case .cluster = target { cluster = true } else { cluster = false }
        self.timeoutMs = timeoutMs; self.holdOffMs = holdOffMs
    }

    deinit { disconnect() }

    /// One command; an error reply (`-ERR …`) is thrown as `.server`.
    func run(_ command: [String]) throws(RedisError) -> RESPValue {
        let reply = try run([command])
        guard let first = reply.first else { throw .unexpectedReply("no reply") }
        if case .error(let message) = first { lastError = message; throw .server(message) }
        return first
    }

    /// Several commands in one write; their replies in order, error replies included.
    func run(_ commands: [[String]]) throws(RedisError) -> [RESPValue] {
        do throws(RedisError) {
            var asking = false
            for _ in 0...5 {
                let reused = fd >= 0
                if fd < 0 { try connect() }
                // ASKING holds for the one command after it: it goes before each of the batch.
                var wire: [UInt8] = []
                for c in commands {
                    if asking { RESPEncoder.appendCommand(["ASKING"], to: &wire) }
                    RESPEncoder.appendCommand(c, to: &wire)
                }
                let expected = commands.count * (asking ? 2 : 1)
                var replies: [RESPValue]
                do throws(RedisError) {
                    replies = try exchange(wire, expecting: expected)
                } catch .connectionLost(let why) where reused {
                    // A connection idle since the last call may have died meanwhile (Redis restarted,
                    // a failover): one fresh connection, as nginx does with a stale keepalive. The
                    // journal's commands replace by id, so sending one twice changes nothing, and a
                    // WAIT in the batch is sent again with them, so it confirms what this connection wrote.
                    _ = why
                    try connect()
                    replies = try exchange(wire, expecting: expected)
                }
                if asking { replies = replies.enumerated().filter { $0.offset % 2 == 1 }.map(\.element); asking = false }
                guard cluster, let redirect = Self.redirect(in: replies) else {
                    if cluster, let down = Self.clusterDown(in: replies) { throw RedisError.unavailable(down) }
                    lastError = nil
                    return replies
                }
                // Every key of one call shares a slot: follow the redirection with the whole batch.
                disconnect()
                let target = RedisURL(host: redirect.host.isEmpty ? url.host : redirect.host, port: redirect.port,
                                      username: url.username, password: url.password)
                if !nodes.contains(target) { nodes.append(target) }
                url = target
                asking = redirect.kind == .ask
            }
            throw RedisError.unavailable("still redirected after 5 hops")
        } catch {
            lastError = error.description
            // A Redis that accepts but does not answer (frozen, overloaded) costs one timeout per
            // hold-off, not one per call, as one that refuses does.
            if error == .timeout { retryAt = clock.monotonicNanoseconds() &+ UInt64(holdOffMs) &* 1_000_000 }
            throw error
        }
    }

    /// Runs `commands` and, on a cluster master with replicas, a `WAIT` for one of them in the same
    /// pipeline (so it covers exactly these writes, on the connection that made them). `ROLE` rides
    /// along to keep the replica count current. `confirmed`: a replica has them, or there is none
    /// to ask (one Redis, or a master without replicas).
    func runConfirmed(_ commands: [[String]], waitMs: Int) throws(RedisError) -> (replies: [RESPValue], confirmed: Bool) {
        guard cluster else { return (try run(commands), true) }
        if fd < 0 { try connect() }
        let waiting = replicas > 0
        var replies = try run([["ROLE"]] + commands + (waiting ? [["WAIT", "1", String(waitMs)]] : []))
        let role = replies.removeFirst()
        let now = RedisCluster.replicaCount(ofRole: role) ?? replicas
        guard waiting else { replicas = now; return (replies, now == 0) }
        let acked = (replies.removeLast().int ?? 0) >= 1
        replicas = now
        return (replies, acked)
    }

    private static func redirect(in replies: [RESPValue]) -> RedisCluster.Redirect? {
        for r in replies { if case .error(let m) = r, let redirect = RedisCluster.redirect(m) { return redirect } }
        return nil
    }

    private static func clusterDown(in replies: [RESPValue]) -> String? {
        for r in replies {
            if case .error(let m) = r, RedisCluster.isUnavailable(m) { return m }
        }
        return nil
    }

    func disconnect() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
        decoder.reset()
    }

    // MARK: Connecting

    /// The current node, else (on a cluster) each other node in turn.
    private func connect() throws(RedisError) {
        let now = clock.monotonicNanoseconds()
        guard now >= retryAt else { throw .unavailable(lastError ?? "reconnecting") }
        var failures: [String] = []
        for candidate in [url] + nodes.filter({ $0 != url }) {
            url = candidate
            do throws(RedisError) {
                try connectOnce()
                return
            } catch {
                failures.append(error.description)
                guard cluster else { break }
            }
        }
        retryAt = clock.monotonicNanoseconds() &+ UInt64(holdOffMs) &* 1_000_000
        throw .unavailable(failures.joined(separator: "; "))
    }

    private func connectOnce() throws(RedisError) {
        do throws(RedisError) {
            try open()
            var hello: [[String]] = []
            if let password = url.password { hello.append(url.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]) }
            if url.database != 0 { hello.append(["SELECT", String(url.database)]) }
            if cluster { hello.append(["ROLE"]) }
            guard !hello.isEmpty else { return }
            var wire: [UInt8] = []
            for c in hello { RESPEncoder.appendCommand(c, to: &wire) }
            for (command, reply) in zip(hello, try exchange(wire, expecting: hello.count)) {
                if case .error(let message) = reply { throw RedisError.unavailable("\(command[0]) failed: \(message)") }
                if command[0] == "ROLE" { replicas = RedisCluster.replicaCount(ofRole: reply) ?? 0 }
            }
        } catch {
            disconnect()
            throw error
        }
    }

    private func open() throws(RedisError) {
        let address: SocketAddressBytes
        if let numeric = SocketAddressBytes.numeric(host: url.host, port: url.port) {
            address = numeric
        } else {
            switch SocketAddressBytes.resolve(host: url.host, port: url.port) {
            case .success(let a): address = a
            case .failure(let message): throw .unavailable(message)
            }
        }
        let s = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw .unavailable("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // On Linux SO_SNDTIMEO also bounds a blocking connect().
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = address.bytes.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -1 }
            return Glibc.connect(s, base.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(s)
            let why = e == EINPROGRESS || e == EAGAIN ? "timed out after \(timeoutMs) ms" : String(cString: strerror(e))
            throw .unavailable("connect to \(url.host):\(url.port): \(why)")
        }
        fd = s
        decoder.reset()
    }

    // MARK: I/O

    /// Writes `wire` and reads `count` replies; any I/O or protocol failure drops the connection.
    private func exchange(_ wire: [UInt8], expecting count: Int) throws(RedisError) -> [RESPValue] {
        do throws(RedisError) {
            try writeAll(wire)
            var replies: [RESPValue] = []
            let deadline = clock.monotonicNanoseconds() &+ UInt64(timeoutMs) &* 1_000_000
            while true {
                do {
                    while replies.count < count, let v = try decoder.next() { replies.append(v) }
                } catch { throw RedisError.unexpectedReply(error.description) }
                if replies.count == count { return replies }
                guard clock.monotonicNanoseconds() < deadline else { throw RedisError.timeout }
                try readSome()
            }
        } catch {
            disconnect()
            throw error
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws(RedisError) {
        let failure: RedisError? = bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return nil }
            var off = 0
            while off < raw.count {
                let n = send(fd, base + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n > 0 { off += n; continue }
                let e = errno
                if n < 0 && e == EINTR { continue }
                return e == EAGAIN || e == EWOULDBLOCK ? .timeout : .connectionLost("send: \(String(cString: strerror(e)))")
            }
            return nil
        }
        if let failure { throw failure }
    }

    private func readSome() throws(RedisError) {
        while true {
            let n = readScratch.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress, raw.count) }
            if n > 0 { decoder.feed(readScratch[0..<n]); return }
            if n == 0 { throw .connectionLost("closed by Redis") }
            let e = errno
            if e == EINTR { continue }
            throw e == EAGAIN || e == EWOULDBLOCK ? .timeout : .connectionLost("read: \(String(cString: strerror(e)))")
        }
    }
}
