import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
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
    private let reloadLock = Lock<Void>(())
    private let stoppedCount = Atomic<Int>(0)
    public private(set) var mainPort: UInt16 = 0
    private var memoryQuotas: MemoryQuotaStore?
    private let persistLock = Lock<Void>(())
    public private(set) var adminPort: UInt16?
    public private(set) var metricsPort: UInt16?

    /// `clock` is the wall time every policy reads (windows, breakers, budgets, token expiry); tests inject one.
    public init(config: GatewayConfig, configPath: String, clock: any Clock = SystemClock()) throws(ActivationError) {
        let workers = config.server.workers > 0 ? config.server.workers : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let usage = UsageLedger()
        // Saves the app did not confirm survive a restart: in Redis when the store is shared, else on disk.
        let journal: any SaveJournal
        if let target = try? config.store.redisTarget() {
            journal = RedisSaveJournal(target: target, directory: config.store.dir)
        } else {
            journal = FileSaveJournal(directory: config.store.dir)
        }
        let spans = OTLPExporter()
        state = GatewayState(config: try ActiveConfig(config, usage: usage), configPath: configPath, workerCount: workers,
                             startedAtUnix: clock.now(), journal: journal, usage: usage, clock: clock, spans: spans)
        spans.follow { [state] in state.current.config.tracing }
    }

    public func start() throws {
        let config = state.current.config
        // The memory store is one per process (shared by all loops, so a user's limit is the same
        // with any number of workers) and comes back from disk so a restart refunds nothing.
        // Redis gets one pipelined connection per loop.
        var redisTarget: RedisTarget?
        if config.store.kind == .memory {
            let store = MemoryQuotaStore(directory: config.store.dir)
            do { try store.restore() } catch {
                AccessLog(loop: nil, enabled: true, level: .info).event(.warn, "quota snapshot not restored", [("error", JSONText.quote("\(error)"))])
            }
            memoryQuotas = store
        } else {
            redisTarget = try config.store.redisTarget()
        }
        let memoryIdempotency = MemoryIdempotencyStore()
        for i in 0..<state.workerCount {
            let loop = EventLoop(index: i, clock: state.clock)
            var redis: RedisQuotaStore?
            var idempotency: any IdempotencyStore = memoryIdempotency
            var budgets: RedisBudgetStore?
            var usage: RedisUsageStore?
            if let redisTarget {
                // One pipelined connection per loop (per master on a cluster) serves every store.
                let client: any RedisConnection
                switch redisTarget {
                case .single(let url): client = RedisClient(url: url, loop: loop)
                case .cluster(let seeds): client = RedisClusterClient(seeds: seeds, loop: loop)
                }
                let store = RedisQuotaStore(client: client)
                let idem = RedisIdempotencyStore(client: client)
                let budget = RedisBudgetStore(client: client)
                let sharedUsage = RedisUsageStore(client: client)
                let confined = LoopBound((budget, sharedUsage), on: loop)   // used only on `loop` from here on
                loop.execute { store.start(); idem.start(); confined.value.0.loadScripts(); confined.value.1.loadScripts() }
                redis = store
                idempotency = idem
                budgets = budget
                usage = sharedUsage
            }
            let ctx = ServerContext(loop: loop, state: state, transport: TransportRouter(loop: loop),
                                    quotas: StoreQuotas(memory: memoryQuotas, redis: redis), idempotency: idempotency,
                                    sharedBudgets: budgets, sharedUsage: usage)
            loops.append(loop); contexts.append(ctx)
        }
        if let memoryQuotas { startPersisting(memoryQuotas) }
        HealthChecker(state: state).start()
        // The port is tried once without SO_REUSEPORT, so a second gateway on the same port fails
        // here instead of silently splitting the traffic. The first socket picks the port (":0" in
        // tests); the others join it with SO_REUSEPORT.
        var address = config.server.listen
        try Self.listening("server.listen", address) { () throws(Socket.SystemError) in try Socket.ensureFree(address) }
        for ctx in contexts {
            let fd = try Self.listening("server.listen", address) { () throws(Socket.SystemError) in try Socket.listen(address, reusePort: true) }
            if address.port == 0 { address.port = Socket.boundPort(fd) }
            listeners.append(Listener(fd: fd, host: ctx, role: .main) { ProxyService(context: ctx) })
        }
        mainPort = address.port
        if let adminAddress = config.admin.listen {
            let fd = try Self.listening("admin.listen", adminAddress) { () throws(Socket.SystemError) in try Socket.listen(adminAddress, reusePort: false) }
            adminPort = Socket.boundPort(fd)
            let ctx = contexts[0]
            listeners.append(Listener(fd: fd, host: ctx, role: .admin) { [unowned self] in AdminService(context: ctx, gateway: self) })
        }
        if let metricsAddress = config.admin.metricsListen {
            let fd = try Self.listening("admin.metrics_listen", metricsAddress) { () throws(Socket.SystemError) in try Socket.listen(metricsAddress, reusePort: false) }
            metricsPort = Socket.boundPort(fd)
            let ctx = contexts[0]
            listeners.append(Listener(fd: fd, host: ctx, role: .metrics) { MetricsService(context: ctx) })
        }
        for loop in loops {
            let t = Thread { loop.run(); self.stoppedCount.add(1, ordering: .relaxed) }
            t.name = "rampart-loop-\(loop.index)"
            t.stackSize = 1 << 20
            threads.append(t)
            t.start()
        }
        resumePendingSaves()
        let log = AccessLog(loop: nil, enabled: true, level: .info)
        log.event(.info, "rampart listening", [
            ("listen", JSONText.quote(SocketAddress(host: config.server.listen.host, port: mainPort).description)),
            ("admin", adminPort.map { JSONText.quote(SocketAddress(host: config.admin.listen!.host, port: $0).description) } ?? "null"),
            ("metrics", metricsPort.map { JSONText.quote(SocketAddress(host: config.admin.metricsListen!.host, port: $0).description) } ?? "null"),
            ("workers", String(state.workerCount)), ("config_hash", JSONText.quote(config.hash)), ("version", JSONText.quote(RampartVersion.version)),
        ])
        for warning in Self.adminWarnings(config, tokens: state.current.adminTokens) { log.event(.warn, warning) }
    }

    /// A bind failure names the config key and the address, so a port held by another process
    /// (or a second rampart) is obvious from the first line.
    static func listening<T>(_ key: String, _ address: SocketAddress, _ body: () throws(Socket.SystemError) -> T) throws(StartError) -> T {
        do { return try body() } catch {
            let held = error.errno == EADDRINUSE ? "; another process is already listening on port \(address.port)" : ""
            throw StartError(message: "cannot listen on \(address) (\(key)): \(String(cString: strerror(error.errno)))\(held)")
        }
    }

    /// What an operator must hear at every start: an admin API that refuses everything or accepts
    /// anyone, and admin tokens crossing a network in clear text.
    static func adminWarnings(_ config: GatewayConfig, tokens: AdminTokens) -> [String] {
        guard let listen = config.admin.listen else { return [] }
        var out: [String] = []
        if config.admin.insecureNoAuth {
            out.append("INSECURE: admin.insecure_no_auth is set; the admin API on \(listen) answers anyone who can reach it, including requests forged through an app's URL-fetching tools")
        } else if tokens.isEmpty {
            out.append("the admin API on \(listen) has no token configured and refuses every call; set admin.token_env or admin.token_file")
        }
        if !listen.isLoopback {
            out.append("the admin listener \(listen) is not on loopback and speaks plain HTTP: admin tokens cross the network in clear text; bind it to 127.0.0.1 and reach it through a tunnel or port-forward")
        }
        return out
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
        if fresh.admin.metricsListen != old.admin.metricsListen {
            notes.append(ConfigError(path: "admin.metrics_listen", message: "a new metrics address needs a restart"))
        }
        if fresh.store.kind != old.store.kind || fresh.store.url != old.store.url || fresh.store.cluster != old.store.cluster || fresh.store.dir != old.store.dir {
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

    /// Graceful stop (SPEC §2, §11.12), in the order a load balancer needs:
    ///   1. readiness answers 503 at once, every response says `Connection: close`, and the
    ///      listener keeps accepting for `delayMs` while endpoints propagate;
    ///   2. the listener closes; idle connections close, busy ones after their response;
    ///   3. in-flight requests and streams get `drain_timeout_ms` to finish;
    ///   4. what still runs is cut: streams end with their error event and a clean end, saves are
    ///      journaled. Admin and metrics stay up throughout. `hurry` (a second signal) skips ahead.
    /// Returns true when everything finished before the deadline.
    public func drainAndStop(reason: String, delayMs: Int, hurry: () -> Bool = { false }) -> Bool {
        let timeoutMs = state.current.config.server.drainTimeoutMs
        let log = AccessLog(loop: nil, enabled: true, level: .info)
        log.event(.info, "\(reason) received; draining", [
            ("drain_delay_ms", String(delayMs)), ("drain_timeout_ms", String(timeoutMs)),
            ("in_flight", String(state.metrics.inFlight.load(ordering: .relaxed))),
            ("connections", String(state.metrics.activeConnections.load(ordering: .relaxed)))])
        state.draining.store(true, ordering: .relaxed)
        let hurried = wait(ms: delayMs, until: { false }, hurry: hurry) == .hurried

        let ls = listeners
        for ctx in contexts {
            ctx.loop.execute {
                for l in ls where l.role == .main && l.belongs(to: ctx) { l.close() }
                ctx.drainConnections()
            }
        }
        log.event(.info, "stopped accepting; waiting for in-flight requests", [("in_flight", String(state.metrics.inFlight.load(ordering: .relaxed)))])
        let idle = { [state] in state.metrics.inFlight.load(ordering: .relaxed) == 0 && state.metrics.activeConnections.load(ordering: .relaxed) == 0 }
        let drained = hurried ? idle() : wait(ms: timeoutMs, until: idle, hurry: hurry) == .done
        if !drained {
            let cut = state.metrics.inFlight.load(ordering: .relaxed)
            for ctx in contexts { ctx.loop.execute { ctx.cutAtDrainDeadline() } }
            // The cut writes final events, journal entries and log lines: give the loops a moment.
            _ = wait(ms: 2000, until: idle, hurry: { false })
            log.event(.warn, "drain deadline reached; cut the requests still running", [("cut", String(cut))])
        } else {
            log.event(.info, "drained; exiting")
        }
        // Journal writes still queued (saves journaled at the cut, removals of finished ones) are
        // committed before the process exits, and their answers reach the loops.
        if !state.journal.waitIdle(timeout: 10) {
            log.event(.warn, "save journal still busy at exit", [("depth", String(state.journal.depth))])
        }
        _ = wait(ms: 1000, until: idle, hurry: { false })
        state.journal.stop()
        for ctx in contexts { ctx.loop.execute { ctx.accessLog.flush() } }
        persistQuotas()
        for loop in loops { loop.stop() }
        let stopDeadline = ContinuousClock.now + .seconds(2)
        while stoppedCount.load(ordering: .relaxed) < loops.count && ContinuousClock.now < stopDeadline { usleep(5_000) }
        return drained
    }

    private enum WaitEnd { case done, elapsed, hurried }

    /// Sleeps in 20 ms steps until `until` holds, `ms` pass, or `hurry` says to stop waiting.
    private func wait(ms: Int, until: () -> Bool, hurry: () -> Bool) -> WaitEnd {
        let deadline = ContinuousClock.now + .milliseconds(ms)
        while ContinuousClock.now < deadline {
            if until() { return .done }
            if hurry() { return .hurried }
            usleep(20_000)
        }
        return until() ? .done : .elapsed
    }
}

/// The gateway could not start (a port taken, a bad address); the message names the config key.
public struct StartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Gateway {
    /// Saves that were still running when the process stopped (journaled as pending before the
    /// client heard their id) are sent again at start; success removes them from the journal.
    /// With a shared (Redis) journal only this instance's own and orphaned (> 10 min) pending saves
    /// are taken, each claimed first, so a save another live replica is running is left to it.
    fileprivate func resumePendingSaves() {
        let ctx = contexts[0]
        let pending = state.journal.store.pendingToResume(now: state.wallNow())
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
    func belongs(to ctx: ServerContext) -> Bool { hostIdentity == ObjectIdentifier(ctx) }
}
