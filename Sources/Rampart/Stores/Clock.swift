import Glibc
import Synchronization

/// Wall-clock time for the stores, injected so tests can drive windows of an hour in microseconds
/// and so persisted quota state (absolute times) means the same thing after a restart.
///
/// Unix seconds rather than a monotonic instant: quota hits are written to disk (and later to Redis,
/// shared by several machines), so they need a time base that survives the process.
/// (This shadows the standard library's `Clock` inside Rampart; write `Swift.Clock` for that one.)
public protocol Clock: Sendable {
    func now() -> Double
}

/// The real time of day (CLOCK_REALTIME).
public struct SystemClock: Clock {
    public init() {}

    public func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }
}

/// A clock that moves only when told to, so tests can step across window edges exactly and never sleep.
public final class ManualClock: Clock {
    private let time: Mutex<Double>

    /// Starts at a fixed, realistic unix time so persisted offsets look like production ones.
    public init(_ start: Double = 1_700_000_000) { time = Mutex(start) }

    public func now() -> Double { time.withLock { $0 } }

    public func advance(by seconds: Double) { time.withLock { $0 += seconds } }

    public func set(_ seconds: Double) { time.withLock { $0 = seconds } }
}
