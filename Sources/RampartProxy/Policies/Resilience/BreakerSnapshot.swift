import RampartHTTP
import RampartLoop
import RampartTransport
/// A read-only picture of one breaker for `GET /admin/breakers` and the state gauge.
///
/// Times are unix seconds (the same base as the `now` passed in) so the admin API can print them
/// directly; `nil` where the moment does not exist in the current state.
public struct BreakerSnapshot: Sendable, Equatable {
    /// "closed", "open" or "half_open".
    public var state: String
    public var consecutiveFailures: Int
    /// Results inside the sliding `window` (only counted while closed).
    public var windowSuccesses: Int
    public var windowFailures: Int
    /// When the breaker last opened; nil while closed.
    public var openedAt: Double?
    /// When the cooldown ends and a probe may go through; nil unless open by itself (a forced-open
    /// breaker never probes; a half-open one is probing now).
    public var nextProbeAt: Double?
    /// Probe slots currently taken (half-open only).
    public var probesInFlight: Int
    /// True when an operator pinned the state (forced open or forced closed) until `reset`.
    public var forced: Bool
}
