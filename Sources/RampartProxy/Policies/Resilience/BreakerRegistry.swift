import RampartHTTP
import RampartLoop
import RampartTransport
import Synchronization

/// One circuit breaker per upstream, shared by every event loop of the process.
///
/// Why process-wide behind one Mutex: the upstream's health is one fact, so all loops must see the
/// same state — per-loop breakers would each need `consecutive_failures` failures, multiplying the
/// traffic sent to a dead upstream by the number of loops. The critical sections are a few
/// arithmetic steps, so one lock is cheaper than anything cleverer.
///
/// Keys are whatever names the caller chooses (upstream names; a route with its own breaker can use
/// its own key). The gateway gives every upstream one (`GatewayState.breakerConfigs`); a name
/// without a breaker is always admitted.
public final class BreakerRegistry: Sendable {
    /// Called after every state change, outside the lock (so it may log, count, even call back in).
    public typealias TransitionHook = @Sendable (_ upstream: String, _ from: CircuitBreaker.State,
                                                 _ to: CircuitBreaker.State, _ reason: CircuitBreaker.Reason) -> Void

    /// Name → cell. The registry's lock guards the map only; each breaker has a lock of its own,
    /// so a request that keeps its cell records its outcome without a lookup by name.
    private let cells = Lock<[String: BreakerCell]>([:])
    private let hook = Lock<TransitionHook?>(nil)

    public init(configs: [String: CircuitBreakerConfig] = [:]) {
        apply(configs)
    }

    /// Set by the lead to feed logs and metrics.
    public var onTransition: TransitionHook? {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }

    /// Installs the breakers of a (re)loaded config. An upstream whose breaker config is unchanged keeps
    /// its breaker — state, counts and operator pins survive a reload that did not touch it; a changed
    /// config starts fresh (old counts were judged by old thresholds); removed names are dropped.
    public func apply(_ configs: [String: CircuitBreakerConfig]) {
        cells.withLock { current in
            var next: [String: BreakerCell] = [:]
            for (name, config) in configs {
                if let kept = current[name], kept.config == config { next[name] = kept }
                else { next[name] = BreakerCell(name: name, config: config) }
            }
            current = next
        }
    }

    /// The names that have a breaker, sorted (for the admin API).
    public var names: [String] { cells.withLock { $0.keys.sorted() } }

    /// The breaker called `name`, for a request to keep while it runs (nil: none, always admitted).
    public func cell(_ name: String) -> BreakerCell? { cells.withLock { $0[name] } }

    public func admit(upstream: String, now: Double) -> CircuitBreaker.Admission { admit(cell(upstream), now: now) }

    public func admit(_ cell: BreakerCell?, now: Double) -> CircuitBreaker.Admission {
        guard let cell else { return .allowed }
        let (admission, transition) = cell.breaker.withLock { b in
            let t = b.advance(now: now)
            return (b.admit(now: now), t)
        }
        report(cell.name, transition)
        return admission
    }

    public func record(upstream: String, outcome: CircuitBreaker.Outcome, probe: Bool, now: Double) {
        record(cell(upstream), outcome: outcome, probe: probe, now: now)
    }

    public func record(_ cell: BreakerCell?, outcome: CircuitBreaker.Outcome, probe: Bool, now: Double) {
        guard let cell else { return }
        report(cell.name, cell.breaker.withLock { $0.record(outcome, probe: probe, now: now) })
    }

    /// Whether a request already admitted may make another attempt: only while the breaker is
    /// closed. One that opened meanwhile wins over the retry, and a half-open probe is one attempt.
    /// Reads the state without `admit`, which would take a probe slot for a request that has one.
    public func allowsRetry(upstream: String) -> Bool { allowsRetry(cell(upstream)) }
    public func allowsRetry(_ cell: BreakerCell?) -> Bool { cell.map { $0.state == .closed } ?? true }

    /// For a probe that ended without an outcome (see `CircuitBreaker.releaseProbe`).
    public func releaseProbe(upstream: String) { releaseProbe(cell(upstream)) }
    public func releaseProbe(_ cell: BreakerCell?) { cell?.breaker.withLock { $0.releaseProbe() } }

    /// False when `upstream` has no breaker (the admin API answers 404).
    @discardableResult
    public func forceOpen(upstream: String, now: Double) -> Bool {
        mutate(upstream) { $0.forceOpen(now: now) }
    }

    @discardableResult
    public func forceClose(upstream: String) -> Bool {
        mutate(upstream) { $0.forceClose() }
    }

    @discardableResult
    public func reset(upstream: String) -> Bool {
        mutate(upstream) { $0.reset() }
    }

    public func snapshot(upstream: String, now: Double) -> BreakerSnapshot? {
        cell(upstream)?.breaker.withLock { $0.snapshot(now: now) }
    }

    /// Every breaker, sorted by name so the admin output is stable.
    public func snapshots(now: Double) -> [(upstream: String, snapshot: BreakerSnapshot)] {
        cells.withLock { $0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value.breaker.withLock { $0.snapshot(now: now) }) }
    }

    private func mutate(_ upstream: String,
                        _ change: (inout CircuitBreaker) -> CircuitBreaker.Transition?) -> Bool {
        guard let cell = cell(upstream) else { return false }
        report(upstream, cell.breaker.withLock { change(&$0) })
        return true
    }

    private func report(_ upstream: String, _ transition: CircuitBreaker.Transition?) {
        guard let transition, let hook = onTransition else { return }
        hook(upstream, transition.from, transition.to, transition.reason)
    }
}

/// One named breaker and its own lock.
public final class BreakerCell: Sendable {
    public let name: String
    let config: CircuitBreakerConfig
    fileprivate let breaker: Lock<CircuitBreaker>

    init(name: String, config: CircuitBreakerConfig) {
        self.name = name; self.config = config; breaker = Lock(CircuitBreaker(config: config))
    }

    /// The state now, for an access line (a read, no transition).
    public var state: CircuitBreaker.State { breaker.withLock { $0.state } }
}
