import Foundation
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
