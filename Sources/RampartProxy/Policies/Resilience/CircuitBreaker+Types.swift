import RampartHTTP
import RampartLoop
import RampartTransport
/// The vocabulary of the breaker, kept apart from the state machine so the lead's pipeline, admin API
/// and metrics can name states and reasons without reading the transition logic.
extension CircuitBreaker {
    /// The three classic states. Raw values are what logs, metrics and `GET /admin/breakers` print.
    public enum State: String, Sendable, CaseIterable {
        case closed
        case open
        case halfOpen = "half_open"
    }

    /// What one upstream exchange counted as. The caller classifies: connect errors, timeouts and 5xx
    /// are `.failure`; 2xx–4xx are `.success` — a 4xx is the client's mistake, not a sick upstream, so
    /// counting it would let one misbehaving client open the breaker for everybody.
    public enum Outcome: Sendable, Equatable {
        case success
        case failure
    }

    /// The answer to "may this request go upstream?".
    public enum Admission: Sendable, Equatable {
        /// Closed: go ahead; report the result with `record(_:probe: false, now:)`.
        case allowed
        /// Half-open and a probe slot was taken for this request: report with `probe: true`
        /// (or `releaseProbe()` when it ends without an outcome) or the slot stays taken.
        case probe
        /// Open (or half-open with every probe slot busy): answer 503 `CIRCUIT_OPEN` with this many
        /// seconds in `Retry-After`. Never negative; 0 means "a probe is already testing the upstream".
        case rejected(retryAfter: Double)

        public var isAdmitted: Bool {
            if case .rejected = self { return false }
            return true
        }
    }

    /// Why the state changed; raw values are stable labels for logs and metrics.
    public enum Reason: String, Sendable, CaseIterable {
        case consecutiveFailures = "consecutive_failures"
        case failureRate = "failure_rate"
        case cooldownElapsed = "cooldown_elapsed"
        case probeSucceeded = "probe_succeeded"
        case probeFailed = "probe_failed"
        case forcedOpen = "forced_open"
        case forcedClose = "forced_close"
        case reset
    }

    /// A state change, returned so the caller can log and count it outside any lock.
    public struct Transition: Sendable, Equatable {
        public var from: State
        public var to: State
        public var reason: Reason

        public init(from: State, to: State, reason: Reason) {
            self.from = from; self.to = to; self.reason = reason
        }
    }
}
