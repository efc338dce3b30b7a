import Dispatch
import Foundation
import RampartHTTP
import RampartLoop
import Synchronization

/// The save journal kept off the event loops: every call runs on one helper thread, in the order
/// the calls were made, and answers on the caller's loop. A journal write waits on a disk (fsync) or
/// on Redis (a round trip, a replica's acknowledgement), which must never stall the requests that
/// share a loop. Appends that arrive while the thread is busy are committed together, in one fsync or
/// one pipelined round trip (group commit, as a database does with its log), so a burst of failed
/// saves costs one write, not one per save. The client hears its `save_id` only once its entry is
/// durable: callers report from the completion.
public final class SaveJournalWriter: @unchecked Sendable {
    /// The journal itself, for what runs before the loops (resuming pending saves at start) and tests.
    public let store: any SaveJournal
    private enum Op: Sendable {
        case append(SaveJournalEntry, Double, @Sendable (Bool) -> Void)
        /// Does its work and hands back how to answer (sent once the depth is current).
        case other(@Sendable () -> @Sendable () -> Void)
    }
    private let queue = Lock<(ops: [Op], stopped: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)
    private let cachedDepth = Atomic<Int>(0)
    private let batches = Atomic<Int>(0)
    /// Running taken work (so `waitIdle` knows an empty queue is not yet done).
    private let busy = Atomic<Bool>(false)
    /// How often the depth is read again while nothing happens (other replicas share a Redis journal).
    private let depthEvery: Double

    public init(_ store: any SaveJournal, depthEvery: Double = 5) {
        self.store = store
        self.depthEvery = depthEvery
        let thread = Thread { [self] in run() }
        thread.name = "rampart-journal"
        thread.start()
    }

    /// Journaled saves as of the latest journal call (other replicas' changes within a few seconds):
    /// readiness and metrics read it without a disk or Redis round trip.
    public var depth: Int { cachedDepth.load(ordering: .relaxed) }
    /// Group commits so far (one per burst of appends; for tests and the benchmark).
    public var commits: Int { batches.load(ordering: .relaxed) }

    /// Appends durably; `done(stored)` runs on `loop` once the entry is on disk or in Redis.
    public func append(_ entry: SaveJournalEntry, now: Double, on loop: EventLoop, done: @escaping (Bool) -> Void) {
        let reply = LoopBound(done, on: loop)
        enqueue(.append(entry, now, { ok in loop.execute { reply.value(ok) } }))
    }

    public func remove(_ id: String, on loop: EventLoop, done: ((Bool) -> Void)? = nil) {
        let reply = done.map { LoopBound($0, on: loop) }
        enqueue(.other { [store] in
            let removed = store.remove(id)
            return { if let reply { loop.execute { reply.value(removed) } } }
        })
    }

    public func entry(_ id: String, on loop: EventLoop, done: @escaping (JSONValue?) -> Void) {
        let reply = LoopBound(done, on: loop)
        enqueue(.other { [store] in
            let found = store.entry(id)
            return { loop.execute { reply.value(found) } }
        })
    }

    public func entries(on loop: EventLoop, done: @escaping ([(id: String, json: JSONValue)]) -> Void) {
        let reply = LoopBound(done, on: loop)
        enqueue(.other { [store] in
            let boxed = LoopBound(store.entries(), on: loop)
            return { loop.execute { reply.value(boxed.value) } }
        })
    }

    /// Waits (on the calling thread, at shutdown) until everything queued is done, at most
    /// `timeout` seconds: the drain must not exit with an acknowledged save still in the queue.
    @discardableResult
    public func waitIdle(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if queue.withLock({ $0.ops.isEmpty }) && !busy.load(ordering: .acquiring) { return true }
            usleep(10_000)
        }
        return false
    }

    /// Runs what is queued, then stops the thread. A call made after that runs on the caller's thread
    /// (only a process that is exiting, or a test, stops its journal).
    public func stop() {
        queue.withLock { $0.stopped = true }
        wake.signal()
    }

    private func enqueue(_ op: Op) {
        let (first, stopped) = queue.withLock { q -> (Bool, Bool) in
            if q.stopped { return (false, true) }
            q.ops.append(op)
            return (q.ops.count == 1, false)
        }
        if stopped { for answer in run([op]) { answer() }; return }
        if first { wake.signal() }
    }

    private func run() {
        cachedDepth.store(store.depth, ordering: .relaxed)
        var lastDepth = Date()
        while true {
            let timedOut = wake.wait(timeout: .now() + depthEvery) == .timedOut
            let (ops, stopped) = queue.withLock { q -> ([Op], Bool) in
                let taken = q.ops; q.ops = []
                busy.store(!taken.isEmpty, ordering: .releasing)
                return (taken, q.stopped)
            }
            let answers = run(ops)
            // The depth (a Redis round trip with the Redis journal) is read again once the queue
            // is empty, never between the batches of a burst, and before the callers hear back:
            // whoever saw their journal call answered sees the depth that includes it.
            let idle = queue.withLock { $0.ops.isEmpty }
            if timedOut || (idle && !ops.isEmpty) || Date().timeIntervalSince(lastDepth) >= depthEvery {
                cachedDepth.store(store.depth, ordering: .relaxed)
                lastDepth = Date()
            }
            for answer in answers { answer() }
            busy.store(false, ordering: .releasing)
            if stopped { return }
        }
    }

    /// Runs ops in order, consecutive appends as one batch; the appends' answers are returned, to
    /// be sent once the depth is current.
    @discardableResult
    private func run(_ ops: [Op]) -> [() -> Void] {
        var answers: [() -> Void] = []
        var i = 0
        while i < ops.count {
            // Consecutive appends form one batch; anything else runs alone, in order.
            var batch: [(SaveJournalEntry, Double)] = []
            var replies: [@Sendable (Bool) -> Void] = []
            while i < ops.count, case .append(let e, let now, let reply) = ops[i] {
                batch.append((e, now)); replies.append(reply); i += 1
            }
            if !batch.isEmpty {
                let stored = store.append(batch)
                batches.add(1, ordering: .relaxed)
                for (reply, ok) in zip(replies, stored) { answers.append { reply(ok) } }
                continue
            }
            if case .other(let work) = ops[i] { answers.append(work()) }
            i += 1
        }
        return answers
    }
}

