import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Synchronization
import Testing
@testable import Rampart

/// The process-wide registry: per-upstream breakers, reload behaviour, operator calls, the hook.
@Suite struct BreakerRegistryTests {
    typealias F = BreakerFixture
    let t0 = F.t0

    /// Collects hook calls so tests can see exactly which transitions were reported.
    final class Log: Sendable {
        let entries = Lock<[String]>([])
        var all: [String] { entries.withLock { $0 } }
        func hook() -> BreakerRegistry.TransitionHook {
            { upstream, from, to, reason in
                self.entries.withLock { $0.append("\(upstream) \(from.rawValue)->\(to.rawValue) \(reason.rawValue)") }
            }
        }
    }

    @Test func breakersAreIndependentPerUpstream() {
        let r = BreakerRegistry(configs: ["app": F.config(consecutive: 2), "auth": F.config(consecutive: 2)])
        for _ in 0..<2 { r.record(upstream: "app", outcome: .failure, probe: false, now: t0) }
        #expect(r.admit(upstream: "app", now: t0) == .rejected(retryAfter: 60))
        #expect(r.admit(upstream: "auth", now: t0) == .allowed)
        #expect(r.admit(upstream: "unknown", now: t0) == .allowed)
    }

    @Test func everyTransitionReachesTheHook() {
        let log = Log()
        let r = BreakerRegistry(configs: ["app": F.config(consecutive: 1)])
        r.onTransition = log.hook()
        r.record(upstream: "app", outcome: .failure, probe: false, now: t0)
        #expect(r.admit(upstream: "app", now: t0 + 60) == .probe)
        r.record(upstream: "app", outcome: .failure, probe: true, now: t0 + 60)
        #expect(r.admit(upstream: "app", now: t0 + 120) == .probe)
        r.record(upstream: "app", outcome: .success, probe: true, now: t0 + 120)
        r.forceOpen(upstream: "app", now: t0 + 121)
        r.forceClose(upstream: "app")
        r.reset(upstream: "app")   // closed → closed: nothing to report
        #expect(log.all == [
            "app closed->open consecutive_failures",
            "app open->half_open cooldown_elapsed",
            "app half_open->open probe_failed",
            "app open->half_open cooldown_elapsed",
            "app half_open->closed probe_succeeded",
            "app closed->open forced_open",
            "app open->closed forced_close",
        ])
    }

    @Test func operatorCallsReportUnknownUpstreams() {
        let r = BreakerRegistry(configs: ["app": F.config()])
        #expect(r.forceOpen(upstream: "app", now: t0))
        #expect(!r.forceOpen(upstream: "nope", now: t0))
        #expect(!r.forceClose(upstream: "nope"))
        #expect(!r.reset(upstream: "nope"))
        #expect(r.snapshot(upstream: "nope", now: t0) == nil)
        #expect(r.snapshot(upstream: "app", now: t0)?.forced == true)
    }

    @Test func reloadKeepsUnchangedBreakersAndRebuildsChangedOnes() {
        let r = BreakerRegistry(configs: ["a": F.config(), "b": F.config(), "c": F.config()])
        for name in ["a", "b", "c"] { r.forceOpen(upstream: name, now: t0) }
        r.apply(["a": F.config(), "b": F.config(cooldown: 30), "d": F.config()])
        #expect(r.names == ["a", "b", "d"])
        #expect(r.snapshot(upstream: "a", now: t0)?.state == "open")     // same config: kept
        #expect(r.snapshot(upstream: "b", now: t0)?.state == "closed")   // new config: fresh
        #expect(r.snapshot(upstream: "c", now: t0) == nil)               // removed
    }

    @Test func snapshotsAreSortedByName() {
        let r = BreakerRegistry(configs: ["zeta": F.config(), "alpha": F.config(), "mid": F.config()])
        r.forceOpen(upstream: "mid", now: t0)
        let all = r.snapshots(now: t0)
        #expect(all.map(\.upstream) == ["alpha", "mid", "zeta"])
        #expect(all.map(\.snapshot.state) == ["closed", "open", "closed"])
    }

    @Test func releaseProbeFreesTheSlot() {
        let r = BreakerRegistry(configs: ["app": F.config(consecutive: 1)])
        r.record(upstream: "app", outcome: .failure, probe: false, now: t0)
        #expect(r.admit(upstream: "app", now: t0 + 60) == .probe)
        #expect(r.admit(upstream: "app", now: t0 + 60) == .rejected(retryAfter: 0))
        r.releaseProbe(upstream: "app")
        #expect(r.admit(upstream: "app", now: t0 + 60) == .probe)
    }

    @Test func concurrentLoopsShareOneBreaker() async {
        let r = BreakerRegistry(configs: ["app": F.config(consecutive: 1000, minRequests: 1_000_000)])
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<100 { r.record(upstream: "app", outcome: .failure, probe: false, now: F.t0) }
                }
            }
        }
        #expect(r.snapshot(upstream: "app", now: t0)?.consecutiveFailures == 800)
    }
}
