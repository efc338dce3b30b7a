import CLinux
import Foundation
import Glibc
import Synchronization

/// The running gateway: one event loop per worker, each with its own listening socket
/// (SO_REUSEPORT), its own libcurl multi handle and its own connections; the admin listener
/// lives on loop 0. Owns config reloads and graceful shutdown.
public final class Gateway: @unchecked Sendable {
    public let state: GatewayState
    private var loops: [EventLoop] = []
    private var contexts: [ServerContext] = []
    private var listeners: [Listener] = []
    private var threads: [Thread] = []
    private let reloadLock = Mutex<Void>(())
    private let stoppedCount = Atomic<Int>(0)
    public private(set) var mainPort: UInt16 = 0
    private var memoryQuotas: MemoryQuotaStore?
    private let persistLock = Mutex<Void>(())
    public private(set) var adminPort: UInt16?

    public init(config: GatewayConfig, configPath: String) throws(ActivationError) {
        let workers = config.server.workers > 0 ? config.server.workers : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let usage = UsageLedger()
        state = GatewayState(config: try ActiveConfig(config, usage: usage), configPath: configPath, workerCount: workers,
                             startedAtUnix: Date().timeIntervalSince1970, usage: usage)
    }

    public func start() throws {
        let config = state.current.config
        // The memory store is one per process (shared by all loops, so a user's limit is the same
        // with any number of workers) and comes back from disk so a restart refunds nothing.
        // Redis gets one pipelined connection per loop.
        var redisURL: RedisURL?
        if config.store.kind == .memory {
            let store = MemoryQuotaStore(directory: config.store.dir)
            do { try store.restore() } catch {
                AccessLog(loop: nil, enabled: true, level: .info).event(.warn, "quota snapshot not restored", [("error", JSONText.quote("\(error)"))])
            }
            memoryQuotas = store
        } else {
            redisURL = try config.store.redisURL()
        }
        let memoryIdempotency = MemoryIdempotencyStore()
        for i in 0..<state.workerCount {
            let loop = EventLoop(index: i)
            var redis: RedisQuotaStore?
            var idempotency: any IdempotencyStore = memoryIdempotency
            var budgets: RedisBudgetStore?
            if let redisURL {
                // One pipelined connection per loop serves both stores.
                let client = RedisClient(url: redisURL, loop: loop)
                let store = RedisQuotaStore(client: client)
                let idem = RedisIdempotencyStore(client: client)
                loop.execute { store.start(); idem.start() }
                redis = store
                idempotency = idem
                budgets = RedisBudgetStore(client: client)
            }
            let ctx = ServerContext(loop: loop, state: state, transport: TransportRouter(loop: loop),
                                    quotas: LoopQuotas(memory: memoryQuotas, redis: redis), idempotency: idempotency,
                                    redisBudgets: budgets)
            loops.append(loop); contexts.append(ctx)
        }
        if let memoryQuotas { startPersisting(memoryQuotas) }
        // The first socket picks the port (":0" in tests); the others join it with SO_REUSEPORT.
        var address = config.server.listen
        for ctx in contexts {
            let fd = try Socket.listen(address, reusePort: true)
            if address.port == 0 { address.port = Socket.boundPort(fd) }
            listeners.append(Listener(fd: fd, context: ctx, enforceMaxConnections: true) { ProxyService(context: $0) })
        }
        mainPort = address.port
        if let adminAddress = config.admin.listen {
            let fd = try Socket.listen(adminAddress, reusePort: false)
            adminPort = Socket.boundPort(fd)
            listeners.append(Listener(fd: fd, context: contexts[0], enforceMaxConnections: false) { [unowned self] ctx in
                AdminService(context: ctx, gateway: self)
            })
        }
        for loop in loops {
            let t = Thread { loop.run(); self.stoppedCount.add(1, ordering: .relaxed) }
            t.name = "rampart-loop-\(loop.index)"
            t.stackSize = 1 << 20
            threads.append(t)
            t.start()
        }
        resumePendingSaves()
        contexts[0].accessLog.event(.info, "rampart listening", [
            ("listen", JSONText.quote(SocketAddress(host: config.server.listen.host, port: mainPort).description)),
            ("admin", adminPort.map { JSONText.quote(SocketAddress(host: config.admin.listen!.host, port: $0).description) } ?? "null"),
            ("workers", String(state.workerCount)), ("config_hash", JSONText.quote(config.hash)),
        ])
        contexts[0].accessLog.flush()
    }

    // MARK: Reload

    public enum ReloadOutcome: Sendable { case reloaded(hash: String), rejected([ConfigError]) }

    /// Validates the config file, then swaps it in atomically. In-flight requests keep the config
    /// they started with; an invalid file leaves the running config untouched.
    public func reload() -> ReloadOutcome {
        reloadLock.withLock { _ in
            let outcome: ReloadOutcome
            do throws(ConfigErrors) {
                let fresh = try ConfigLoader.load(path: state.configPath)
                outcome = adopt(fresh)
            } catch {
                outcome = .rejected(error.errors)
            }
            record(outcome)
            return outcome
        }
    }

    private func adopt(_ fresh: GatewayConfig) -> ReloadOutcome {
        let old = state.current.config
        var notes: [ConfigError] = []
        if fresh.server.listen != old.server.listen { notes.append(ConfigError(path: "server.listen", message: "a new listen address needs a restart")) }
        if fresh.admin.listen != old.admin.listen { notes.append(ConfigError(path: "admin.listen", message: "a new admin address needs a restart")) }
        if fresh.store.kind != old.store.kind || fresh.store.url != old.store.url || fresh.store.dir != old.store.dir {
            notes.append(ConfigError(path: "store", message: "a different store needs a restart"))
        }
        if !notes.isEmpty { return .rejected(notes) }
        let active: ActiveConfig
        do { active = try ActiveConfig(fresh, usage: state.usage) } catch { return .rejected([ConfigError(path: error.path, message: error.message)]) }
        state.swap(active)
        for ctx in contexts { ctx.loop.execute { ctx.adopt(active) } }
        return .reloaded(hash: fresh.hash)
    }

    private func record(_ outcome: ReloadOutcome) {
        switch outcome {
        case .reloaded(let hash):
            state.metrics.reloads.withLock { $0.ok += 1 }
            AccessLog(loop: nil, enabled: true, level: .info).event(.info, "config reloaded", [("config_hash", JSONText.quote(hash))])
        case .rejected(let errors):
            state.metrics.reloads.withLock { $0.failed += 1 }
            AccessLog(loop: nil, enabled: true, level: .info).event(.error, "config reload rejected; keeping the running config",
                                                                   [("errors", JSONText.array(errors.map { JSONText.quote($0.description) }))])
        }
    }

    // MARK: Shutdown

    /// Stops accepting, lets in-flight requests finish (up to `drain_timeout_ms`), stops the loops.
    /// Returns true when everything drained in time.
    public func drainAndStop() -> Bool {
        state.draining.store(true, ordering: .relaxed)
        let ls = listeners
        for ctx in contexts {
            ctx.loop.execute {
                for l in ls where l.belongs(to: ctx) { l.close() }
                ctx.drainConnections()
            }
        }
        let deadline = ContinuousClock.now + .milliseconds(state.current.config.server.drainTimeoutMs)
        var drained = false
        while ContinuousClock.now < deadline {
            if state.metrics.inFlight.load(ordering: .relaxed) == 0 && state.metrics.activeConnections.load(ordering: .relaxed) == 0 { drained = true; break }
            usleep(20_000)
            for ctx in contexts { ctx.loop.execute { ctx.drainConnections() } }
        }
        AccessLog(loop: nil, enabled: true, level: .info).event(.info, drained ? "drained; exiting" : "drain timeout; exiting with requests in flight",
                                                               [("in_flight", String(state.metrics.inFlight.load(ordering: .relaxed)))])
        for ctx in contexts { ctx.loop.execute { ctx.accessLog.flush() } }
        persistQuotas()
        for loop in loops { loop.stop() }
        let stopDeadline = ContinuousClock.now + .seconds(2)
        while stoppedCount.load(ordering: .relaxed) < loops.count && ContinuousClock.now < stopDeadline { usleep(5_000) }
        return drained
    }
}

extension Gateway {
    /// Saves that were still running when the process stopped (journaled as pending before the
    /// client heard their id) are sent again at start; success removes them from the journal.
    /// With a shared (Redis) journal only this instance's own and orphaned (> 10 min) pending saves
    /// are taken, each claimed first, so a save another live replica is running is left to it.
    fileprivate func resumePendingSaves() {
        let ctx = contexts[0]
        let pending = state.journal.pendingToResume(now: Date().timeIntervalSince1970)
        guard !pending.isEmpty else { return }
        ctx.loop.execute {
            for id in pending {
                SaveReplay.run(id: id, context: ctx) { ok, status in
                    ctx.accessLog.event(ok ? .info : .warn, "pending save resumed", [
                        ("save_id", JSONText.quote(id)), ("saved", ok ? "true" : "false"), ("upstream_status", String(status))])
                }
            }
        }
    }

    /// Snapshots the memory quota store every 30 s on its own thread (file I/O never runs on a loop).
    fileprivate func startPersisting(_ store: MemoryQuotaStore) {
        let t = Thread { [weak self] in
            while let self, !self.state.draining.load(ordering: .relaxed) {
                for _ in 0..<300 where !self.state.draining.load(ordering: .relaxed) { usleep(100_000) }
                store.sweep()
                self.persistQuotas()
            }
        }
        t.name = "rampart-quota-snapshot"
        t.start()
    }

    /// Writes the memory store's snapshot under `store.dir` (atomically: temp file, fsync, rename).
    public func persistQuotas() {
        guard let memoryQuotas else { return }
        do { try persistLock.withLock { _ in try memoryQuotas.persist() } } catch {
            state.metrics.shards[0].storeError(kind: "snapshot")
            AccessLog(loop: nil, enabled: true, level: .info).event(.error, "quota snapshot failed", [("error", JSONText.quote("\(error)"))])
        }
    }
}

extension Listener {
    func belongs(to ctx: ServerContext) -> Bool { self.contextIdentity == ObjectIdentifier(ctx) }
}
