import Foundation
import RampartHTTP
import RampartLoop
import RampartTransport

/// The live state of one upstream's servers, shared by every loop (SPEC §11.8): which may take a
/// request (not drained by ops, not ejected by passive health, not failing active checks), how
/// requests are spread (`balance`), and what each has in flight. A retry asks for a server the
/// request has not tried yet. When every server is out, requests still go to the ones not drained
/// (Envoy's panic mode): a pool that looks all-down is more often a check that is wrong.
public final class ServerPool: Sendable {
    public enum ServerState: String, Sendable { case up, ejected, unhealthy, drained }

    public struct Status: Sendable {
        public var server: PoolServer
        public var state: ServerState
        public var inFlight: Int
        public var requests: Int
        public var failures: Int
    }

    private struct Entry {
        var current = 0          // smooth weighted round robin
        var inFlight = 0
        var requests = 0
        var failures = 0         // consecutive failed attempts
        var ejectedUntil = 0.0   // unix seconds
        var drained = false
        var checkDown = false    // active health checks say no
        var checkStreak = 0      // consecutive check results against the current verdict
    }

    public let upstream: String
    public let servers: [PoolServer]
    public let config: PoolConfig
    private let state: Lock<[Entry]>

    public init(upstream: String, servers: [PoolServer], config: PoolConfig) {
        self.upstream = upstream; self.servers = servers; self.config = config
        state = Lock(Array(repeating: Entry(), count: servers.count))
    }

    /// The server for the next attempt, or nil when every one is drained.
    public func pick(caller: String, excluding tried: [Int], now: Double) -> Int? {
        state.withLock { entries -> Int? in
            var usable = entries.indices.filter { !entries[$0].drained && !entries[$0].checkDown && entries[$0].ejectedUntil <= now }
            if usable.isEmpty { usable = entries.indices.filter { !entries[$0].drained } }   // panic: all look down
            guard !usable.isEmpty else { return nil }
            let fresh = usable.filter { !tried.contains($0) }
            let candidates = fresh.isEmpty ? usable : fresh
            let i: Int
            switch config.balance {
            case .roundRobin:
                var total = 0, best = candidates[0]
                for c in candidates {
                    entries[c].current += servers[c].weight
                    total += servers[c].weight
                    if entries[c].current > entries[best].current { best = c }
                }
                entries[best].current -= total
                i = best
            case .leastRequests:
                i = candidates.min { a, b in
                    (entries[a].inFlight + 1) * servers[b].weight < (entries[b].inFlight + 1) * servers[a].weight
                        || ((entries[a].inFlight + 1) * servers[b].weight == (entries[b].inFlight + 1) * servers[a].weight
                            && entries[a].requests < entries[b].requests)
                }!
            case .hashUser:
                i = candidates.max { a, b in Self.score(caller, servers[a]) < Self.score(caller, servers[b]) }!
            }
            entries[i].inFlight += 1
            entries[i].requests += 1
            return i
        }
    }

    /// Rendezvous hashing, weighted: each server scores the caller; the best stays the best while
    /// the set is unchanged, and only its callers move when a server leaves.
    static func score(_ caller: String, _ server: PoolServer) -> Double {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in caller.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        for b in server.url.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd; h ^= h >> 33
        let u = (Double(h >> 11) + 0.5) / Double(1 << 53)   // (0, 1)
        return -Double(server.weight) / Foundation.log(u)
    }

    /// The attempt on server `i` got its verdict. Passive health: a run of failures takes the
    /// server out for `cooldown`; a success ends the run. True when this one ejected it.
    public func report(_ i: Int, ok: Bool, now: Double) -> Bool {
        state.withLock { entries -> Bool in
            if ok { entries[i].failures = 0; return false }
            entries[i].failures += 1
            guard entries[i].failures >= config.consecutiveFailures else { return false }
            entries[i].failures = 0
            let c = config.cooldown.components
            entries[i].ejectedUntil = now + Double(c.seconds) + Double(c.attoseconds) / 1e18
            return true
        }
    }

    /// The attempt on server `i` is over (its response ended, failed or was cancelled).
    public func release(_ i: Int) {
        state.withLock { $0[i].inFlight = max(0, $0[i].inFlight - 1) }
    }

    /// An active check's answer; true when the server's verdict changed.
    public func checked(_ i: Int, ok: Bool) -> Bool {
        guard let check = config.healthCheck else { return false }
        return state.withLock { entries -> Bool in
            if ok == !entries[i].checkDown { entries[i].checkStreak = 0; return false }
            entries[i].checkStreak += 1
            guard entries[i].checkStreak >= (ok ? check.healthyAfter : check.unhealthyAfter) else { return false }
            entries[i].checkDown = !ok
            entries[i].checkStreak = 0
            return true
        }
    }

    /// Ops take a server out of rotation (its requests in flight finish) or put it back.
    public func setDrained(_ i: Int, _ drained: Bool) {
        state.withLock { $0[i].drained = drained; if !drained { $0[i].ejectedUntil = 0; $0[i].failures = 0 } }
    }

    public func statuses(now: Double) -> [Status] {
        state.withLock { entries in
            entries.indices.map { i in
                let e = entries[i]
                let s: ServerState = e.drained ? .drained : e.checkDown ? .unhealthy : e.ejectedUntil > now ? .ejected : .up
                return Status(server: servers[i], state: s, inFlight: e.inFlight, requests: e.requests, failures: e.failures)
            }
        }
    }
}
