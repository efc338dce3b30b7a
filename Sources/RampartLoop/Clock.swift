import CLinux
import Glibc
import Synchronization

/// The one clock Rampart reads, injected (into `GatewayState` and every `EventLoop`) so tests can
/// drive hour-long windows, breakers and timeouts in microseconds without sleeping.
///
/// Two readings of the same clock:
/// - `now()`, unix seconds, for what is persisted or shown: quota hits are written to disk and to
///   Redis shared by several machines, so they need a time base that survives the process.
/// - `monotonicNanoseconds()`, for deadlines and durations: it never jumps with the wall clock.
/// (This shadows the standard library's `Clock` inside Rampart; write `Swift.Clock` for that one.)
public protocol Clock: Sendable {
    func now() -> Double
    func monotonicNanoseconds() -> UInt64
}

/// The machine's clocks: CLOCK_REALTIME and CLOCK_MONOTONIC.
public struct SystemClock: Clock {
    public init() {}

    public func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1_000_000_000
    }

    @inline(__always) public func monotonicNanoseconds() -> UInt64 { rampart_monotonic_ns() }
}

/// A clock that moves only when told to, so tests can step across window edges and deadlines
/// exactly and never sleep. Both readings move together.
public final class ManualClock: Clock {
    private let time: Lock<(wall: Double, monotonic: UInt64)>

    /// Starts at a fixed, realistic unix time so persisted offsets look like production ones.
    public init(_ start: Double = 1_700_000_000) { time = Lock((start, 1_000_000_000)) }

    public func now() -> Double { time.withLock { $0.wall } }

    public func monotonicNanoseconds() -> UInt64 { time.withLock { $0.monotonic } }

    public func advance(by seconds: Double) {
        time.withLock { $0.wall += seconds; $0.monotonic &+= UInt64(max(0, seconds) * 1_000_000_000) }
    }

    public func set(_ seconds: Double) { time.withLock { $0.wall = seconds } }
}
