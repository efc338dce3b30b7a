import RampartHTTP
import RampartLoop
import Synchronization

/// Redis Cluster for one event loop: a slot map learned with `CLUSTER SLOTS` and one pipelined
/// `RedisClient` per master, each command sent to the master of its key's slot (`RedisCluster`).
///
/// The map is kept true the way redis-cli and the official clients do it: a `MOVED` reply moves the
/// slot and sends the command again to the named node (and refreshes the whole map soon, since one
/// slot moving usually means many did); `ASK` sends `ASKING` and the command to the importing node
/// without touching the map; a dropped connection, `CLUSTERDOWN` or `TRYAGAIN` refreshes the map.
/// A failed master thus costs the commands in flight to it and those sent until its replica is
/// promoted: they fail as "unavailable", so `store.on_unavailable` decides, as with one Redis down.
/// Loop-confined like `RedisClient`, except `isHealthy` and `lastError`.
public final class RedisClusterClient: RedisConnection, @unchecked Sendable {
    public let seeds: [RedisURL]
    public let loop: EventLoop
    public let options: RedisClient.Options
    /// How often the map is refreshed when nothing forced it.
    let refreshEveryMs: Int
    /// Redirections one command may follow before it fails (a map in motion, never a loop).
    static let maxRedirects = 5

    /// Clients by `host:port`: the masters of the map, plus seeds asked for it.
    private var nodes: [String: RedisClient] = [:]
    private var masters: [RedisClient] = []
    /// Per slot, an index into `masters`; -1 while unknown.
    private var slotOwner = [Int16](repeating: -1, count: RedisCluster.slotCount)
    private var mapKnown = false
    /// Commands that came before the first map; sent once it is known, failed if it cannot be had.
    private var waiting: [() -> Void] = []
    private var waitingFailures: [(RedisError) -> Void] = []
    private var refreshing = false
    private var refreshQueued = false
    private var lastRefresh: UInt64 = 0
    private var refreshTimer: LoopTimer?
    /// Commands a down master could not take, waiting for the next map to try its successor.
    private var afterRefresh: [() -> Void] = []
    private var closed = false

    /// The map covers every slot; with `mastersSeen`, what `isHealthy` reads from any thread.
    private let healthy = Atomic<Bool>(false)
    private let mastersSeen = Lock<[RedisClient]>([])
    private let failure = Lock<String?>(nil)

    public init(seeds: [RedisURL], loop: EventLoop, options: RedisClient.Options = RedisClient.Options(), refreshEveryMs: Int = 5000) {
        precondition(!seeds.isEmpty, "a cluster needs at least one seed node")
        self.seeds = seeds; self.loop = loop; self.options = options; self.refreshEveryMs = refreshEveryMs
    }

    // MARK: RedisConnection

    /// Every slot has a master and every master's connection is up: a master down (a failover in
    /// progress) makes the store unready, as one Redis down does.
    public var isHealthy: Bool { healthy.load(ordering: .acquiring) && mastersSeen.withLock { $0.allSatisfy(\.isHealthy) } }
    public var lastError: String? { failure.withLock { $0 } }
    public var keyspaceNodes: [RedisClient] { masters }
    public var isCluster: Bool { true }

    public func start() {
        guard !mapKnown, !refreshing, !closed else { return }
        refresh()
    }

    public func close() {
        closed = true
        loop.cancel(refreshTimer); refreshTimer = nil
        for c in nodes.values { c.close() }
        nodes = [:]; masters = []
        mastersSeen.withLock { $0 = [] }
        healthy.store(false, ordering: .releasing)
        failWaiting(.closed)
        runAfterRefresh()
    }

    public func send(bytes args: [[UInt8]], completion: @escaping RedisClient.Completion) {
        dispatch(args, redirects: 0, completion)
    }

    // MARK: Routing

    private func dispatch(_ args: [[UInt8]], redirects: Int, _ completion: @escaping RedisClient.Completion) {
        guard !closed else { completion(.failure(.closed)); return }
        guard mapKnown else {
            guard waiting.count < options.maxPending else { completion(.failure(.unavailable("\(options.maxPending) commands wait for the cluster map"))); return }
            waiting.append { [weak self] in self?.dispatch(args, redirects: redirects, completion) }
            waitingFailures.append { completion(.failure($0)) }
            refresh()
            return
        }
        guard let node = route(args) else {
            refreshSoon()
            completion(.failure(.unavailable("no master serves the slot of \(String(decoding: args.dropFirst().first ?? [], as: UTF8.self)) yet")))
            return
        }
        send(args, to: node, asking: false, redirects: redirects, completion)
    }

    /// The master of the command's slot by the map (any master for a command without a key).
    private func route(_ args: [[UInt8]]) -> RedisClient? {
        guard let key = RedisCluster.routingKey(of: args) else { return masters.first { $0.isHealthy } ?? masters.first }
        let owner = Int(slotOwner[RedisCluster.slot(of: key)])
        return owner >= 0 ? masters[owner] : nil
    }

    private func send(_ args: [[UInt8]], to node: RedisClient, asking: Bool, redirects: Int, _ completion: @escaping RedisClient.Completion) {
        // ASKING and the command ride the same connection, in this order (RESP is FIFO per socket).
        if asking { node.send(["ASKING"]) { _ in } }
        node.send(bytes: args) { [weak self] reply in
            guard let self else { completion(reply); return }
            self.handle(reply, args: args, from: node, redirects: redirects, completion)
        }
    }

    private func handle(_ reply: Result<RESPValue, RedisError>, args: [[UInt8]], from node: RedisClient, redirects: Int,
                        _ completion: @escaping RedisClient.Completion) {
        switch reply {
        case .success:
            completion(reply)
        case .failure(.server(let message)):
            if let redirect = RedisCluster.redirect(message) {
                guard redirects < Self.maxRedirects else {
                    refresh()
                    completion(.failure(.unavailable("still redirected after \(Self.maxRedirects) hops: \(message)")))
                    return
                }
                let target = client(host: redirect.host.isEmpty ? node.url.host : redirect.host, port: redirect.port)
                if redirect.kind == .moved {
                    adopt(target, forSlot: redirect.slot)
                    refreshSoon()
                }
                send(args, to: target, asking: redirect.kind == .ask, redirects: redirects + 1, completion)
            } else if message.hasPrefix("TRYAGAIN"), redirects < Self.maxRedirects {
                // A multi-key command mid-migration: its keys are split for a moment. Try again shortly.
                loop.schedule(afterMs: 20 * (redirects + 1)) { [weak self] in
                    guard let self else { completion(.failure(.closed)); return }
                    self.dispatch(args, redirects: redirects + 1, completion)
                }
            } else if RedisCluster.isUnavailable(message) {
                // The cluster is electing a master or moving keys: Redis could not be asked.
                refreshSoon()
                completion(.failure(.unavailable(message)))
            } else {
                completion(reply)
            }
        case .failure(.unavailable) where redirects < Self.maxRedirects:
            // Never sent (that master is down): once the map is fresh, a promoted replica may serve it.
            afterRefresh.append { [weak self] in
                guard let self, !self.closed, let owner = self.route(args), owner !== node else { completion(reply); return }
                self.send(args, to: owner, asking: false, redirects: redirects + 1, completion)
            }
            refreshSoon()
        case .failure(let e):
            if e.isUnavailability && e != .closed { refreshSoon() }
            completion(reply)
        }
    }

    /// The client for one node, made on first use (with the seeds' credentials; Cluster has no SELECT).
    private func client(host: String, port: UInt16) -> RedisClient {
        let name = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if let c = nodes[name] { return c }
        let seed = seeds[0]
        let c = RedisClient(url: RedisURL(host: host, port: port, database: 0, username: seed.username, password: seed.password),
                            loop: loop, options: options)
        nodes[name] = c
        return c
    }

    /// A MOVED reply: this node serves the slot now.
    private func adopt(_ node: RedisClient, forSlot slot: Int) {
        if let i = masters.firstIndex(where: { $0 === node }) { slotOwner[slot] = Int16(i); return }
        masters.append(node)
        mastersSeen.withLock { $0 = masters }
        slotOwner[slot] = Int16(masters.count - 1)
        node.start()
    }

    // MARK: The slot map

    /// Asks for the map at most every 100 ms, however many failures call for it.
    private func refreshSoon() {
        guard !refreshing, !refreshQueued, !closed else { return }
        let now = loop.monotonicNow()
        let wait = lastRefresh &+ 100_000_000 > now ? Int((lastRefresh &+ 100_000_000 &- now) / 1_000_000) : 0
        refreshQueued = true
        loop.schedule(afterMs: wait) { [weak self] in
            self?.refreshQueued = false
            self?.refresh()
        }
    }

    /// `CLUSTER SLOTS` to a known master, else to each seed in turn, until one answers with a map.
    private func refresh() {
        guard !refreshing, !closed else { return }
        refreshing = true
        lastRefresh = loop.monotonicNow()
        var candidates = masters.filter(\.isHealthy) + masters.filter { !$0.isHealthy }
        for seed in seeds {
            let c = client(host: seed.host, port: seed.port)
            if !candidates.contains(where: { $0 === c }) { candidates.append(c) }
        }
        ask(candidates[...], failures: [])
    }

    private func ask(_ candidates: ArraySlice<RedisClient>, failures: [String]) {
        guard let node = candidates.first else {
            refreshing = false
            let why = "no cluster map from \(failures.joined(separator: "; "))"
            failure.withLock { $0 = why }
            healthy.store(false, ordering: .releasing)
            if !mapKnown { failWaiting(.unavailable(why)) }
            runAfterRefresh()
            scheduleNextRefresh(afterMs: mapKnown ? 250 : options.maxBackoffMs)
            return
        }
        node.send(["CLUSTER", "SLOTS"]) { [weak self] reply in
            guard let self, !self.closed else { return }
            if case .success(let v) = reply, let ranges = RedisCluster.slotRanges(v), !ranges.isEmpty {
                self.apply(ranges, askedHost: node.url.host)
            } else {
                let why: String
                switch reply {
                case .failure(let e): why = "\(node.url.host):\(node.url.port): \(e)"
                case .success(let v): why = "\(node.url.host):\(node.url.port): no slots in \(v)"
                }
                self.ask(candidates.dropFirst(), failures: failures + [why])
            }
        }
    }

    private func apply(_ ranges: [RedisCluster.SlotRange], askedHost: String) {
        var owners = [Int16](repeating: -1, count: RedisCluster.slotCount)
        var list: [RedisClient] = []
        for r in ranges {
            let node = client(host: r.host.isEmpty ? askedHost : r.host, port: r.port)
            let i: Int
            if let known = list.firstIndex(where: { $0 === node }) { i = known } else { list.append(node); i = list.count - 1 }
            for s in r.first...r.last { owners[s] = Int16(i) }
        }
        // Nodes that left the map (a failed master, a removed one) stop reconnecting once nothing
        // waits on them (an ASK target, a master not in this map yet, may still be answering); seeds stay.
        for (name, c) in nodes where c.pendingCount == 0 && !list.contains(where: { $0 === c })
            && !seeds.contains(where: { $0.host == c.url.host && $0.port == c.url.port }) {
            c.close()
            nodes[name] = nil
        }
        masters = list
        mastersSeen.withLock { $0 = list }
        slotOwner = owners
        mapKnown = true
        refreshing = false
        for m in masters { m.start() }
        let covered = !owners.contains(-1)
        healthy.store(covered, ordering: .releasing)
        failure.withLock { $0 = covered ? nil : "the cluster map leaves slots without a master" }
        let queued = waiting
        waiting = []; waitingFailures = []
        for run in queued { run() }
        runAfterRefresh()
        // While a master is down, look again often: its replica's promotion should cost nothing more.
        scheduleNextRefresh(afterMs: masters.allSatisfy(\.isHealthy) ? refreshEveryMs : 250)
    }

    private func scheduleNextRefresh(afterMs ms: Int) {
        loop.cancel(refreshTimer)
        refreshTimer = loop.schedule(afterMs: ms) { [weak self] in
            self?.refreshTimer = nil
            self?.refresh()
        }
    }

    private func runAfterRefresh() {
        let waiters = afterRefresh
        afterRefresh = []
        for run in waiters { run() }
    }

    private func failWaiting(_ e: RedisError) {
        let failures = waitingFailures
        waiting = []; waitingFailures = []
        for fail in failures { fail(e) }
    }
}
