/// A loop's timers, earliest deadline first: a binary heap over plain memory. Every request arms
/// and cancels a deadline, so the moves are pointer copies: the heap holds one reference per timer
/// (taken on insert, given back on removal) and moves them without retaining, with each slot's
/// deadline kept beside it so a compare reads no timer. Loop-confined like its `EventLoop`.
final class TimerHeap {
    private struct Slot {
        var deadline: UInt64
        var timer: Unmanaged<LoopTimer>
    }

    private var slots: UnsafeMutablePointer<Slot>
    private var capacity: Int
    private(set) var count = 0

    init() {
        capacity = 64
        slots = .allocate(capacity: capacity)
    }

    deinit {
        for i in 0..<count {
            slots[i].timer._withUnsafeGuaranteedRef { $0.heapIndex = -1 }
            slots[i].timer.release()
        }
        slots.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// The earliest deadline, if any timer is in the heap.
    var firstDeadline: UInt64? { count > 0 ? slots[0].deadline : nil }

    /// The timer with the earliest deadline (the heap keeps it).
    var first: LoopTimer? { count > 0 ? slots[0].timer.takeUnretainedValue() : nil }

    /// Adds `timer` (not in the heap) at its deadline.
    func insert(_ timer: LoopTimer) {
        if count == capacity { grow() }
        (slots + count).initialize(to: Slot(deadline: timer.deadline, timer: .passRetained(timer)))
        timer.heapIndex = count
        count &+= 1
        siftUp(count &- 1)
    }

    /// Moves `timer` (in the heap) to its new deadline.
    func update(_ timer: LoopTimer, earlier: Bool) {
        let i = timer.heapIndex
        precondition(i >= 0 && i < count && holds(timer, at: i), "TimerHeap: the timer is not in this heap")
        slots[i].deadline = timer.deadline
        if earlier { siftUp(i) } else { siftDown(i) }
    }

    /// Takes `timer` out when it is in this heap; its reference goes with it.
    func remove(_ timer: LoopTimer) {
        let i = timer.heapIndex
        guard i >= 0, i < count, holds(timer, at: i) else { return }
        let taken = slots[i].timer
        count &-= 1
        if i != count {
            slots[i] = slots[count]
            setIndex(i)
            siftDown(i)
            siftUp(i)
        }
        timer.heapIndex = -1
        taken.release()
    }

    @inline(__always) private func holds(_ timer: LoopTimer, at i: Int) -> Bool {
        slots[i].timer.toOpaque() == Unmanaged.passUnretained(timer).toOpaque()
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<Slot>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: slots, count: count)
        slots.deallocate()
        slots = bigger
        capacity *= 2
    }

    @inline(__always) private func setIndex(_ i: Int) {
        slots[i].timer._withUnsafeGuaranteedRef { $0.heapIndex = i }
    }

    @inline(__always) private func swapAt(_ a: Int, _ b: Int) {
        let t = slots[a]
        slots[a] = slots[b]
        slots[b] = t
        setIndex(a)
        setIndex(b)
    }

    private func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let p = (i &- 1) / 2
            if slots[p].deadline <= slots[i].deadline { break }
            swapAt(i, p); i = p
        }
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 &* i &+ 1, r = l &+ 1
            var m = i
            if l < count && slots[l].deadline < slots[m].deadline { m = l }
            if r < count && slots[r].deadline < slots[m].deadline { m = r }
            if m == i { break }
            swapAt(i, m); i = m
        }
    }
}
