import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import CLinux
import Foundation
import Synchronization
import Testing
@testable import Rampart

/// Loop confinement is checked, not promised: in debug builds, touching a running loop's timers
/// from another thread stops the process at the call instead of corrupting the timer heap.
@Suite struct LoopConfinementTests {
    @Test func onTheLoopAndBeforeItRunsIsAllowed() {
        let loop = EventLoop(index: 7)
        #expect(loop.inLoop)   // not running yet: set-up from the starting thread
        let bound = LoopBound(42, on: loop)
        #expect(bound.value == 42)
    }

    #if DEBUG
    @Test func touchingARunningLoopFromAnotherThreadTraps() async {
        await #expect(processExitsWith: .failure) {
            let loop = EventLoop(index: 0)
            let thread = Thread { loop.run() }
            thread.start()
            while loop.inLoop { usleep(1_000) }   // until run() owns the loop
            _ = loop.schedule(afterMs: 10) {}
        }
    }
    #endif
}

/// A timer compares its deadline with the loop's clock: when the loop spent time on events
/// before firing timers, `now` must have moved, or a timer that re-arms "until its deadline has
/// come" (as every exchange and save deadline does) fires again at the same instant forever.
@Suite struct LoopTimerClockTests {
    @Test func aTimerDueAfterSlowEventsSeesItsDeadlineAsCome() throws {
        let loop = EventLoop(index: 3)
        let fired = Lock<(count: Int, late: Bool)>((0, false))
        let thread = Thread { loop.run() }
        thread.start()
        loop.execute {
            let deadline = rampart_monotonic_ns() + 2_000_000
            var timer: LoopTimer?
            timer = loop.makeTimer {
                let n = fired.withLock { f -> Int in f.count += 1; return f.count }
                if loop.now < deadline && n < 50 { loop.arm(timer!, at: deadline) }   // "not yet": re-arm
                else { fired.withLock { $0.late = loop.now >= deadline }; loop.stop() }
            }
            loop.arm(timer!, at: deadline)
            usleep(10_000)   // this iteration's events take longer than the timer's delay
        }
        let until = Date().addingTimeInterval(10)
        while fired.withLock({ !$0.late && $0.count < 50 }) && Date() < until { usleep(1_000) }
        let result = fired.withLock { $0 }
        #expect(result.count == 1 && result.late, "fired \(result.count) times before its deadline counted as come")
    }
}

/// The loop measures every deadline with the clock it was given, so a test (or a save's hour-long
/// window) moves time by hand: a one-minute timer fires when the clock says so, not before.
@Suite struct LoopInjectedClockTests {
    @Test func timersFireWhenTheInjectedClockSaysSo() {
        let clock = ManualClock()
        let loop = EventLoop(index: 4, clock: clock)
        let fired = Lock(false)
        let iterations = Lock(0)
        loop.schedule(afterMs: 60_000) { fired.withLock { $0 = true } }
        let thread = Thread { loop.run() }
        thread.start()
        func poll(_ done: () -> Bool) { let until = Date().addingTimeInterval(10); while !done() && Date() < until { usleep(1_000) } }

        loop.execute { iterations.withLock { $0 += 1 } }
        poll { iterations.withLock { $0 } == 1 }
        #expect(!fired.withLock { $0 }, "fired before the clock moved")

        clock.advance(by: 60)
        loop.execute {}
        poll { fired.withLock { $0 } }
        #expect(fired.withLock { $0 }, "did not fire once the clock passed its deadline")
        loop.execute { loop.stop() }
    }
}
