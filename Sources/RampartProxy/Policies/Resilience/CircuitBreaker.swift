import RampartHTTP
import RampartLoop
import RampartTransport
/// The circuit breaker of one upstream (SPEC §7.3), as a pure value-type state machine.
///
/// Why a value type with `now` passed in: the same code then runs under the registry's lock in
/// production and step by step in tests with an invented clock — no timers, no sleeping, no I/O.
/// Methods return what happened (an `Admission`, a `Transition`) and the caller acts on it (answers
/// 503, logs, bumps metrics), in the SwiftNIO/Hummingbird state-machine style.
///
/// Life cycle: **closed** counts results; `consecutive_failures` failures in a row, or a failure share
/// ≥ `failure_rate` among at least `min_requests` results inside `window`, open it. **Open** rejects
/// everything for `cooldown` seconds. The first `admit` after that turns it **half-open**, where up to
/// `half_open_probes` requests go through at once; the first probe to succeed closes it with fresh
/// counts, the first to fail re-opens it for a new cooldown. An operator can pin it open or closed.
public struct CircuitBreaker: Sendable {
    public let config: CircuitBreakerConfig
    public private(set) var state: State = .closed
    /// Set by `forceOpen`/`forceClose`: the automatic transitions stop until `reset`.
    public private(set) var forced = false
    public private(set) var consecutiveFailures = 0
    public private(set) var openedAt: Double?
    public private(set) var probesInFlight = 0
    private var window: RollingCounts          // first = successes, second = failures

    public init(config: CircuitBreakerConfig) {
        self.config = config
        window = RollingCounts(window: config.window.resilienceSeconds)
    }

    package var cooldown: Double { config.cooldown.resilienceSeconds }

    /// Moves open → half-open once the cooldown has passed. `admit` does this itself; it is public so
    /// a caller that wants the transition (for its log) can call it first.
    public mutating func advance(now: Double) -> Transition? {
        guard state == .open, !forced, let openedAt, now >= openedAt + cooldown else { return nil }
        state = .halfOpen
        probesInFlight = 0
        return Transition(from: .open, to: .halfOpen, reason: .cooldownElapsed)
    }

    /// Decides whether a request may go upstream now, taking a probe slot when half-open.
    public mutating func admit(now: Double) -> Admission {
        _ = advance(now: now)
        switch state {
        case .closed:
            return .allowed
        case .halfOpen:
            guard probesInFlight < max(1, config.halfOpenProbes) else { return .rejected(retryAfter: 0) }
            probesInFlight += 1
            return .probe
        case .open:
            // A forced-open breaker has no cooldown of its own; the configured one is an honest hint.
            guard !forced, let openedAt else { return .rejected(retryAfter: cooldown) }
            return .rejected(retryAfter: max(0, openedAt + cooldown - now))
        }
    }

    /// Records the result of an admitted request. `probe` must be what `admit` said (`.probe`).
    ///
    /// Results that no longer fit the state are dropped on purpose: a non-probe request that was in
    /// flight when the breaker opened says nothing about the upstream *after* opening, and a late
    /// probe answering after another probe already decided counts as ordinary closed traffic.
    public mutating func record(_ outcome: Outcome, probe: Bool, now: Double) -> Transition? {
        if probe, probesInFlight > 0 { probesInFlight -= 1 }
        switch state {
        case .halfOpen where probe:
            if outcome == .success { return close(reason: .probeSucceeded) }
            return open(now: now, reason: .probeFailed, from: .halfOpen)
        case .closed:
            return recordClosed(outcome, now: now)
        case .halfOpen, .open:
            return nil
        }
    }

    /// Gives back a probe slot for a request that ended without an outcome (client gone, cancelled),
    /// so a lost probe cannot wedge the breaker half-open.
    public mutating func releaseProbe() {
        if probesInFlight > 0 { probesInFlight -= 1 }
    }

    /// Pins the breaker open (ops: "take this upstream out") until `forceClose` or `reset`.
    @discardableResult
    public mutating func forceOpen(now: Double) -> Transition? {
        let from = state
        forced = true
        probesInFlight = 0
        if from == .open { return nil }
        state = .open
        openedAt = now
        return Transition(from: from, to: .open, reason: .forcedOpen)
    }

    /// Pins the breaker closed with fresh counts until `forceOpen` or `reset`: for an operator who
    /// knows the upstream is fine and wants traffic through despite failures. Results are still
    /// counted (visible in the snapshot) but never trip it.
    @discardableResult
    public mutating func forceClose() -> Transition? {
        let transition = close(reason: .forcedClose)
        forced = true
        return transition
    }

    /// Back to automatic operation, closed, with every count and pin cleared.
    @discardableResult
    public mutating func reset() -> Transition? {
        forced = false
        return close(reason: .reset)
    }

    public func snapshot(now: Double) -> BreakerSnapshot {
        let totals = state == .closed ? window.totals(now: now) : (first: 0, second: 0)
        var nextProbeAt: Double?
        if state == .open, !forced, let openedAt { nextProbeAt = openedAt + cooldown }
        return BreakerSnapshot(state: state.rawValue, consecutiveFailures: consecutiveFailures,
                               windowSuccesses: totals.first, windowFailures: totals.second,
                               openedAt: state == .closed ? nil : openedAt, nextProbeAt: nextProbeAt,
                               probesInFlight: probesInFlight, forced: forced)
    }

    private mutating func recordClosed(_ outcome: Outcome, now: Double) -> Transition? {
        switch outcome {
        case .success:
            consecutiveFailures = 0
            window.add(first: 1, now: now)
            return nil
        case .failure:
            consecutiveFailures += 1
            window.add(second: 1, now: now)
        }
        // Trips are only checked on a failure: a success can never be the reason to open.
        guard !forced else { return nil }
        if consecutiveFailures >= max(1, config.consecutiveFailures) {
            return open(now: now, reason: .consecutiveFailures, from: .closed)
        }
        let totals = window.totals(now: now)
        let total = totals.first + totals.second
        if total >= max(1, config.minRequests), Double(totals.second) >= config.failureRate * Double(total) {
            return open(now: now, reason: .failureRate, from: .closed)
        }
        return nil
    }

    private mutating func open(now: Double, reason: Reason, from: State) -> Transition {
        state = .open
        openedAt = now
        probesInFlight = 0
        return Transition(from: from, to: .open, reason: reason)
    }

    /// Closing always starts from fresh counts, so the failures that opened the breaker cannot
    /// immediately trip it again.
    private mutating func close(reason: Reason) -> Transition? {
        let from = state
        state = .closed
        consecutiveFailures = 0
        openedAt = nil
        probesInFlight = 0
        window.clear()
        return from == .closed ? nil : Transition(from: from, to: .closed, reason: reason)
    }
}
