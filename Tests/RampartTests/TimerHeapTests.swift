import Testing
@testable import RampartLoop

/// The loop's timer heap against a plain model: random arms, moves and cancels, then every timer
/// leaves in deadline order, and the heap lets go of each timer it no longer holds.
@Suite struct TimerHeapTests {
    @Test func keepsDeadlineOrderThroughArmsMovesAndCancels() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ n: Int) -> Int { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return Int(state % UInt64(n)) }
        for round in 0..<50 {
            let heap = TimerHeap()
            var model: [ObjectIdentifier: UInt64] = [:]
            var timers: [LoopTimer] = []
            weak var dropped: LoopTimer?
            for _ in 0..<(20 + round * 4) {
                switch next(4) {
                case 0, 1:   // arm a new timer
                    let t = LoopTimer(deadline: UInt64(next(1000)), persistent: true) {}
                    heap.insert(t); timers.append(t); model[ObjectIdentifier(t)] = t.deadline
                case 2:      // move one that is in the heap
                    guard !timers.isEmpty else { continue }
                    let t = timers[next(timers.count)]
                    let d = UInt64(next(1000))
                    let earlier = d < t.deadline
                    t.deadline = d
                    heap.update(t, earlier: earlier); model[ObjectIdentifier(t)] = d
                default:     // cancel one (twice is harmless)
                    guard !timers.isEmpty else { continue }
                    let t = timers.remove(at: next(timers.count))
                    heap.remove(t); heap.remove(t)
                    model[ObjectIdentifier(t)] = nil
                    #expect(!t.isScheduled)
                    dropped = t
                }
            }
            #expect(dropped == nil, "a cancelled timer is released by the heap")
            #expect(heap.count == model.count)
            var last: UInt64 = 0
            while let first = heap.first {
                #expect(first.deadline >= last && heap.firstDeadline == first.deadline)
                #expect(model[ObjectIdentifier(first)] == first.deadline)
                last = first.deadline
                heap.remove(first)
                model[ObjectIdentifier(first)] = nil
            }
            #expect(model.isEmpty)
        }
    }
}

@Suite struct LoopTimerRecycleTests {
    /// A timer cancelled, armed again (it has no action then) and recycled leaves the heap: the
    /// next `makeTimer` that reuses it never fires at the old deadline.
    @Test func aRecycledTimerNeverFiresAtItsOldDeadline() {
        let clock = ManualClock()
        let loop = EventLoop(index: 0, clock: clock)
        let t = loop.makeTimer {}
        loop.arm(t, at: loop.now + 1_000_000)
        loop.cancel(t)
        loop.arm(t, at: loop.now + 1_000_000)
        #expect(t.isScheduled)
        loop.recycle(t)
        #expect(!t.isScheduled, "a recycled timer is out of the heap")
        final class Fired: @unchecked Sendable { var count = 0 }
        let fired = Fired()
        let reused = loop.makeTimer { fired.count += 1 }
        #expect(reused === t && !reused.isScheduled)
        clock.advance(by: 2)
        loop.turn(timeoutMs: 0)
        #expect(fired.count == 0)
        loop.arm(reused, at: loop.monotonicNow())
        loop.turn(timeoutMs: 0)
        #expect(fired.count == 1, "armed again, it fires once")
    }
}
