import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// A restart must not hand anyone a fresh quota: state is saved under store.dir and loaded at start.
@Suite struct QuotaSnapshotTests {
    typealias F = QuotaFixture

    @Test func aRestartKeepsUsersLimited() throws {
        let dir = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(F.t0)
        let rule = F.rule(limit: 10, per: 3600)
        let before = MemoryQuotaStore(directory: dir, clock: clock)
        for i in 0..<10 { #expect(before.acquire([rule], now: F.t0 + Double(i)).isAllowed) }
        _ = before.acquire([F.rule("ip:203.0.113.9", route: "auth", limit: 10, per: 60)], now: F.t0)
        try before.persist()
        #expect(FileManager.default.fileExists(atPath: dir + "/quotas.snapshot"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/quotas.snapshot.tmp"))

        clock.advance(by: 600)
        let after = MemoryQuotaStore(directory: dir, clock: clock)
        try after.restore()
        #expect(F.retryAfter(after.acquire([rule], now: clock.now())) == 3000)
        #expect(after.entries(identity: "user:u1").map(\.used) == [10])
        #expect(after.entries(identity: "ip:203.0.113.9").isEmpty)   // its minute passed while down
        #expect(after.keyCount == 1)
        #expect(after.acquire([rule], now: F.t0 + 3600).isAllowed)    // the first hit's hour is over
        #expect(!after.acquire([rule], now: F.t0 + 3600).isAllowed)
    }

    @Test func hitsThatExpiredWhileDownAreDropped() throws {
        let dir = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(F.t0)
        let rule = F.rule(limit: 5, per: 3600)
        let before = MemoryQuotaStore(directory: dir, clock: clock)
        for t in [0.0, 1800, 3000] { _ = before.acquire([rule], now: F.t0 + t) }
        try before.persist()
        clock.set(F.t0 + 3700)
        let after = MemoryQuotaStore(directory: dir, clock: clock)
        try after.restore()
        #expect(after.entries(identity: "user:u1").map(\.used) == [2])
        #expect(after.peek([rule], now: clock.now()).map(\.resetAfter) == [1700])
    }

    @Test func manyKeysRoundTripExactly() throws {
        let dir = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(F.t0)
        let before = MemoryQuotaStore(directory: dir, clock: clock)
        var random = QuotaRandom(state: 7)
        let rules = (0..<300).map { F.rule("user:ü\($0)", route: "r\($0 % 3)", index: $0 % 2,
                                          limit: 1 + $0 % 9, per: Double(60 + $0)) }
        for _ in 0..<3000 {
            _ = before.acquire([rules[random.int(0...299)]], now: F.t0 + Double(random.int(0...59_000)) / 1000)
        }
        try before.persist()
        try before.persist()   // a second save replaces the first cleanly
        let after = MemoryQuotaStore(directory: dir, clock: clock)
        try after.restore()
        for rule in rules {
            let now = F.t0 + 60
            #expect(after.peek([rule], now: now) == before.peek([rule], now: now), "\(rule.key)")
        }
        #expect(after.keyCount == before.keyCount)
    }

    @Test func aMissingSnapshotOrDirectoryIsAFirstStart() throws {
        let dir = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try MemoryQuotaStore(directory: dir + "/not-yet").restore()
        try MemoryQuotaStore(directory: nil).restore()
        let nested = MemoryQuotaStore(directory: dir + "/a/b")
        _ = nested.acquire([F.rule(limit: 1, per: 60)], now: SystemClock().now())
        try nested.persist()   // creates the directory
        #expect(FileManager.default.fileExists(atPath: dir + "/a/b/quotas.snapshot"))
    }

    @Test func anUnwritableDirectoryThrowsWithTheCause() {
        let store = MemoryQuotaStore(directory: "/proc/rampart-quota-test")
        _ = store.acquire([F.rule(limit: 1, per: 60)], now: SystemClock().now())
        #expect(throws: QuotaSnapshotError.self) { try store.persist() }
    }

    @Test func aDamagedSnapshotThrowsAndLoadsNothing() throws {
        let dir = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(F.t0)
        let before = MemoryQuotaStore(directory: dir, clock: clock)
        for i in 0..<50 { _ = before.acquire([F.rule("user:u\(i)", limit: 3, per: 60)], now: F.t0) }
        try before.persist()
        let path = dir + "/quotas.snapshot"
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        for damaged in [good.prefix(good.count - 3), Data("garbage".utf8), good.prefix(4)] {
            try damaged.write(to: URL(fileURLWithPath: path))
            let after = MemoryQuotaStore(directory: dir, clock: clock)
            #expect(throws: QuotaSnapshotError.self) { try after.restore() }
            #expect(after.keyCount == 0)
        }
    }

    @Test func restoringIntoALiveStoreMergesHits() throws {
        let dir = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(F.t0)
        let rule = F.rule(limit: 4, per: 60)
        let saved = MemoryQuotaStore(directory: dir, clock: clock)
        _ = saved.acquire([rule], now: F.t0)
        _ = saved.acquire([rule], now: F.t0 + 2)
        try saved.persist()
        let live = MemoryQuotaStore(directory: dir, clock: clock)
        _ = live.acquire([rule], now: F.t0 + 1)
        try live.restore()
        #expect(live.entries(identity: "user:u1").map(\.used) == [3])
        #expect(live.acquire([rule], now: F.t0 + 3).isAllowed)
        #expect(F.retryAfter(live.acquire([rule], now: F.t0 + 3)) == 57)
    }
}
