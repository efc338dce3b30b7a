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

    private let breakers = Mutex<[String: CircuitBreaker]>([:])
    private let hook = Mutex<TransitionHook?>(nil)

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
        breakers.withLock { current in
            var next: [String: CircuitBreaker] = [:]
            for (name, config) in configs {
                if let kept = current[name], kept.config == config { next[name] = kept }
                else { next[name] = CircuitBreaker(config: config) }
            }
            current = next
        }
    }

    /// The names that have a breaker, sorted (for the admin API).
    public var names: [String] { breakers.withLock { $0.keys.sorted() } }

    public func admit(upstream: String, now: Double) -> CircuitBreaker.Admission {
        var admission = CircuitBreaker.Admission.allowed
        let transition = breakers.withLock { all -> CircuitBreaker.Transition? in
            guard all[upstream] != nil else { return nil }
            let t = all[upstream]!.advance(now: now)
            admission = all[upstream]!.admit(now: now)
            return t
        }
        report(upstream, transition)
        return admission
    }

    public func record(upstream: String, outcome: CircuitBreaker.Outcome, probe: Bool, now: Double) {
        let transition = breakers.withLock { all in
            all[upstream] == nil ? nil : all[upstream]!.record(outcome, probe: probe, now: now)
        }
        report(upstream, transition)
    }

    /// Whether a request already admitted may make another attempt: only while the breaker is
    /// closed. One that opened meanwhile wins over the retry, and a half-open probe is one attempt.
    /// Reads the state without `admit`, which would take a probe slot for a request that has one.
    public func allowsRetry(upstream: String) -> Bool {
        breakers.withLock { $0[upstream].map { $0.state == .closed } ?? true }
    }

    /// For a probe that ended without an outcome (see `CircuitBreaker.releaseProbe`).
    public func releaseProbe(upstream: String) {
        breakers.withLock { all in
            if all[upstream] != nil { all[upstream]!.releaseProbe() }
        }
    }

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
        breakers.withLock { $0[upstream]?.snapshot(now: now) }
    }

    /// Every breaker, sorted by name so the admin output is stable.
    public func snapshots(now: Double) -> [(upstream: String, snapshot: BreakerSnapshot)] {
        breakers.withLock { all in
            all.keys.sorted().map { ($0, all[$0]!.snapshot(now: now)) }
        }
    }

    private func mutate(_ upstream: String,
                        _ change: (inout CircuitBreaker) -> CircuitBreaker.Transition?) -> Bool {
        let (found, transition) = breakers.withLock { all -> (Bool, CircuitBreaker.Transition?) in
            guard all[upstream] != nil else { return (false, nil) }
            return (true, change(&all[upstream]!))
        }
        report(upstream, transition)
        return found
    }

    private func report(_ upstream: String, _ transition: CircuitBreaker.Transition?) {
        guard let transition, let hook = onTransition else { return }
        hook(upstream, transition.from, transition.to, transition.reason)
    }
}
