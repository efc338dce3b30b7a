import Glibc
import Synchronization

#if RAMPART_TSAN
/// In ThreadSanitizer builds (`make test-sanitized` passes `-DRAMPART_TSAN`) every lock is a
/// pthread mutex, which TSan sees through its interceptors. It cannot see Synchronization.Mutex
/// on Linux (the stdlib locks with futexes, uninstrumented): a four-thread `Lock<[Int]>` append
/// is reported as a race, so every critical section would be. Same discipline, visible locks.
public typealias Lock<Value> = PthreadLock<Value>
#else
/// The process's lock: Synchronization.Mutex (inline, a futex word).
public typealias Lock<Value> = Mutex<Value>
#endif

/// A value behind a pthread mutex, with Mutex's `withLock` shape (see `Lock`).
/// The value lives in its own allocation, not a stored `var`: Swift's exclusivity check reports
/// a `var`'s access to TSan at the field's address, and a zero-size value (`Lock<Void>`) shares
/// that address with `mutex`, so reading `mutex` to lock looked like a race with the last holder.
public final class PthreadLock<Value>: @unchecked Sendable {
    private let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init(_ value: consuming sending Value) {
        self.value.initialize(to: value)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    public func withLock<Result, E: Error>(_ body: (inout sending Value) throws(E) -> sending Result) throws(E) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
