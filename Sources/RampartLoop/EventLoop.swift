import CLinux
import Glibc
import Synchronization

/// Something registered on an event loop that reacts to readiness of one file descriptor.
public protocol EventHandler: AnyObject {
    func handleEvents(_ events: UInt32)
}

/// Something with buffered output to write once per loop iteration (after all ready events), so
/// a response head and its body leave in one syscall. A protocol rather than a closure: no
/// allocation and no weak reference per flush (weak references push an object's refcounting
/// onto Swift's slow side-table path for the rest of its life).
public protocol DeferredFlush: AnyObject {
    func flushDeferred()
}

/// A timer owned by a loop. One-shot timers (`schedule`) drop their action when they fire or are
/// cancelled; persistent ones (`makeTimer`) keep it and are re-armed without allocating, for the
/// per-connection deadlines that move on every request.
public final class LoopTimer {
    // Read by inlined getters in the transports; loop-confined, so no runtime exclusivity checks.
    @usableFromInline @exclusivity(unchecked) var deadline: UInt64
    @usableFromInline @exclusivity(unchecked) var action: (() -> Void)?
    @usableFromInline @exclusivity(unchecked) var heapIndex = -1
    let persistent: Bool
    init(deadline: UInt64, persistent: Bool = false, action: @escaping () -> Void) {
        self.deadline = deadline; self.persistent = persistent; self.action = action
    }
    @inlinable public var isActive: Bool { action != nil }
    /// In the heap, waiting to fire.
    @inlinable public var isScheduled: Bool { heapIndex >= 0 }
    @inlinable public var scheduledAt: UInt64 { deadline }
}

public enum Epoll {
    public static let input = EPOLLIN.rawValue
    public static let output = EPOLLOUT.rawValue
    public static let readHangup = EPOLLRDHUP.rawValue
    public static let hangup = EPOLLHUP.rawValue
    public static let error = EPOLLERR.rawValue
    /// Edge-triggered: registered once for input and output (nginx's way), so a request changes
    /// no epoll interest; the owner remembers readiness and reads until the socket is drained.
    public static let edgeTriggered = EPOLLET.rawValue
    /// Anything that makes a read return: data, the peer's FIN, a reset or an error.
    public static let readable = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
    /// The peer's FIN, a reset or an error.
    public static let hangupOrError = EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue
}

/// One epoll instance driven by one thread (nginx's worker, SwiftNIO's EventLoop). Everything
/// registered on it is touched only from that thread; other threads talk to it via `execute`.
public final class EventLoop: @unchecked Sendable {
    public let index: Int
    private let epfd: Int32
    private let wakeFd: Int32
    // Loop-confined state is `@exclusivity(unchecked)`: only this loop's thread touches it, and
    // no access to it calls out to code that could reach it again (a removed timer or a flushed
    // target stays referenced by its caller), so the runtime's exclusivity check (about 80
    // instructions a time, several per request) could never fire. Rampart marks the hot state of
    // its other loop-confined objects (connections, calls, exchanges) the same way, never state
    // whose mutation runs a filter or handler that could reach it again.
    @exclusivity(unchecked) private var handlers: [EventHandler?] = []
    private let timers = TimerHeap()
    private let inbox = Lock<[@Sendable () -> Void]>([])
    @exclusivity(unchecked) private var deferred: [() -> Void] = []
    @exclusivity(unchecked) private var flushQueue: [DeferredFlush] = []
    @exclusivity(unchecked) private var flushBatch: [DeferredFlush] = []
    @exclusivity(unchecked) private var deferredBatch: [() -> Void] = []
    @exclusivity(unchecked) private var spareTimers: [LoopTimer] = []
    /// Objects kept alive until the end of the iteration (`releaseAtEndOfIteration`).
    @exclusivity(unchecked) private var releaseQueue: [AnyObject] = []
    @exclusivity(unchecked) private var running = true
    /// The clock every deadline on this loop is measured with (injected: tests drive it by hand).
    public let clock: any Clock
    /// `clock.monotonicNanoseconds()` read in place: called on `clock` from outside, the
    /// existential is copied first.
    public func monotonicNow() -> UInt64 { clock.monotonicNanoseconds() }
    /// Cached monotonic time of the current iteration; good enough for timeouts and logs.
    /// Read through an inlinable getter: a stored property read from another module is inlined
    /// with its exclusivity check, whatever the attribute says.
    @inlinable public var now: UInt64 { nowStorage }
    @usableFromInline @exclusivity(unchecked) var nowStorage: UInt64
    /// The thread inside `run()`, 0 while none is: set-up before the loop starts (and tests after
    /// it stopped) may touch it from the thread that owns it then.
    private let owner = Atomic<UInt>(0)

    /// True on the loop's own thread, or while no thread runs it.
    public var inLoop: Bool {
        let o = owner.load(ordering: .relaxed)
        return o == 0 || o == UInt(pthread_self())
    }

    /// Loop confinement, checked rather than promised: in debug builds every call that touches
    /// the loop's state (fds, timers, deferred work) traps when made from another thread.
    @inline(__always) public func assertInLoop(_ what: StaticString = #function) {
        #if DEBUG
        if !inLoop { preconditionFailure("EventLoop \(index): \(what) called from another thread; use execute(_:)") }
        #endif
    }

    public init(index: Int, clock: any Clock = SystemClock()) {
        self.index = index
        self.clock = clock
        nowStorage = clock.monotonicNanoseconds()
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epfd >= 0 && wakeFd >= 0, "epoll/eventfd unavailable")
        _ = rampart_epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFd, Epoll.input, UInt64(wakeFd))
    }

    // MARK: File descriptors

    public func register(fd: Int32, events: UInt32, handler: EventHandler) {
        assertInLoop()
        let i = Int(fd)
        if i >= handlers.count { handlers.append(contentsOf: repeatElement(nil, count: i - handlers.count + 1)) }
        handlers[i] = handler
        _ = rampart_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, events, UInt64(fd))
    }

    public func modify(fd: Int32, events: UInt32) {
        assertInLoop()
        _ = rampart_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, events, UInt64(fd))
    }

    /// Removes the fd from epoll. The caller still owns (and closes) the fd.
    public func unregister(fd: Int32) {
        assertInLoop()
        _ = rampart_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, 0, 0)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    // MARK: Timers

    @discardableResult
    public func schedule(afterMs ms: Int, _ action: @escaping () -> Void) -> LoopTimer {
        schedule(at: clock.monotonicNanoseconds() &+ UInt64(max(0, ms)) &* 1_000_000, action)
    }

    @discardableResult
    public func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> LoopTimer {
        assertInLoop()
        let t = LoopTimer(deadline: deadline, action: action)
        timers.insert(t)
        return t
    }

    /// A reusable timer; arm it with `arm(_:at:)`. One given back with `recycle` is taken first:
    /// a per-request deadline then allocates nothing.
    public func makeTimer(_ action: @escaping () -> Void) -> LoopTimer {
        if let t = spareTimers.popLast() { t.action = action; return t }
        return LoopTimer(deadline: 0, persistent: true, action: action)
    }

    /// Cancels a timer from `makeTimer` and keeps it for the next `makeTimer`. The caller drops
    /// every reference it holds to it.
    public func recycle(_ timer: LoopTimer) {
        cancel(timer)
        if spareTimers.count < Self.spareTimerLimit { spareTimers.append(timer) }
    }

    static let spareTimerLimit = 1024

    /// (Re)schedules a persistent timer, moving it within the heap if already scheduled.
    public func arm(_ timer: LoopTimer, at deadline: UInt64) {
        assertInLoop()
        if timer.heapIndex >= 0 {
            let earlier = deadline < timer.deadline
            timer.deadline = deadline
            timers.update(timer, earlier: earlier)
        } else {
            timer.deadline = deadline
            timers.insert(timer)
        }
    }

    public func disarm(_ timer: LoopTimer) { assertInLoop(); timers.remove(timer) }

    /// Drops the timer's action and takes it out of the heap: also one that was cancelled and
    /// armed again (its action already gone), so a recycled timer never fires at an old deadline.
    public func cancel(_ timer: LoopTimer?) {
        guard let timer else { return }
        assertInLoop()
        timer.action = nil
        timers.remove(timer)
    }

    /// Runs `work` at the end of this iteration, after all ready events.
    public func deferToEndOfIteration(_ work: @escaping () -> Void) { assertInLoop(); deferred.append(work) }

    /// Keeps `object` alive until the end of this iteration: an object that ends itself from inside
    /// one of its own methods (an upstream call whose owner lets go of it) is freed after its
    /// method returned, without a closure allocated for it.
    public func releaseAtEndOfIteration(_ object: AnyObject) { assertInLoop(); releaseQueue.append(object) }

    /// Calls `target.flushDeferred()` at the end of this iteration (the caller dedupes).
    public func scheduleFlush(_ target: DeferredFlush) { assertInLoop(); flushQueue.append(target) }

    // MARK: Cross-thread

    /// Runs `work` on the loop thread. Safe from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(work) }
        var one: UInt64 = 1
        _ = Glibc.write(wakeFd, &one, 8)
    }

    public func stop() { execute { [unowned self] in self.running = false } }

    // MARK: Run

    public func run() {
        owner.store(UInt(pthread_self()), ordering: .relaxed)
        defer { owner.store(0, ordering: .relaxed) }
        var events = [UInt32](repeating: 0, count: 256)
        var datas = [UInt64](repeating: 0, count: 256)
        while running { iterate(&events, &datas, timeoutMs: nextTimeoutMs()) }
    }

    /// One iteration on the calling thread, waiting at most `timeoutMs` for events: for a harness
    /// that drives a loop itself (the HTTP/2 connection fuzz target), never next to `run`.
    package func turn(timeoutMs: Int32) {
        owner.store(UInt(pthread_self()), ordering: .relaxed)
        defer { owner.store(0, ordering: .relaxed) }
        var events = [UInt32](repeating: 0, count: 64)
        var datas = [UInt64](repeating: 0, count: 64)
        iterate(&events, &datas, timeoutMs: min(timeoutMs, nextTimeoutMs()))
    }

    /// Waits for events, handles them, fires due timers and runs the work deferred to the end.
    private func iterate(_ events: inout [UInt32], _ datas: inout [UInt64], timeoutMs timeout: Int32) {
        let capacity = Int32(events.count)
        let n = events.withUnsafeMutableBufferPointer { ev in
            datas.withUnsafeMutableBufferPointer { da in
                rampart_epoll_wait(epfd, ev.baseAddress, da.baseAddress, capacity, timeout)
            }
        }
        nowStorage = clock.monotonicNanoseconds()
        if n > 0 {
            for i in 0..<Int(n) {
                let fd = Int32(truncatingIfNeeded: datas[i])
                if fd == wakeFd { drainInbox(); continue }
                if Int(fd) < handlers.count, let h = handlers[Int(fd)] { h.handleEvents(events[i]) }
            }
        }
        fireTimers()
        runDeferred()
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = Glibc.read(wakeFd, &counter, 8)
        let work = inbox.withLock { q -> [@Sendable () -> Void] in let w = q; q.removeAll(); return w }
        for w in work { w() }
    }

    private func runDeferred() {
        while !deferred.isEmpty || !flushQueue.isEmpty || !releaseQueue.isEmpty {
            if let object = releaseQueue.popLast() {   // one at a time: a deinit may queue more
                _ = object
                continue
            }
            // Each batch runs from a spare array swapped in, so the queues keep their capacity
            // (copying one out and emptying it would allocate a fresh buffer every time).
            if !flushQueue.isEmpty {
                swap(&flushQueue, &flushBatch)
                for t in flushBatch { t.flushDeferred() }
                flushBatch.removeAll(keepingCapacity: true)
                continue
            }
            swap(&deferred, &deferredBatch)
            for w in deferredBatch { w() }
            deferredBatch.removeAll(keepingCapacity: true)
        }
    }

    private func nextTimeoutMs() -> Int32 {
        if !deferred.isEmpty || !flushQueue.isEmpty || !releaseQueue.isEmpty { return 0 }
        guard let first = timers.firstDeadline else { return 1000 }
        let t = clock.monotonicNanoseconds()
        if first <= t { return 0 }
        let ms = (first - t + 999_999) / 1_000_000
        return Int32(min(ms, 1000))
    }

    private func fireTimers() {
        let t = clock.monotonicNanoseconds()
        // Timers compare their deadlines with `now`: it must be the time they fire at, or a
        // timer due between epoll_wait's return and here would re-arm itself at the same
        // deadline and fire again forever.
        nowStorage = t
        while let deadline = timers.firstDeadline, deadline <= t, let first = timers.first {
            timers.remove(first)
            if let action = first.action {
                if !first.persistent { first.action = nil }
                action()
            }
        }
    }
}

/// Carries a value a loop owns through a `@Sendable` closure (a helper thread's work) back to
/// that loop (SwiftNIO's `NIOLoopBound`): reading it anywhere else traps in debug builds.
package struct LoopBound<Value>: @unchecked Sendable {
    private let wrapped: Value
    package let loop: EventLoop
    package init(_ value: Value, on loop: EventLoop) { self.wrapped = value; self.loop = loop }
    package var value: Value { loop.assertInLoop("LoopBound.value"); return wrapped }
}
