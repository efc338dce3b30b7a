import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// The memory store stays bounded with a million distinct users, and expired users give memory back.
///
/// Stated bound: 300 bytes per key (a 1-hit log of a 10/h quota, identity `user:u<7 digits>`), measured as
/// growth of the process's resident set (about 215 B/key measured). An hour later the million has
/// expired: 250,000 new users find every shard swept on first touch, and the process does not grow
/// past the same bound (the freed memory is reused). About 20 s in a debug build on 2 cores.
@Suite struct QuotaMemoryTests {
    static let users = 1_000_000
    static let boundBytesPerKey = 300

    @Test func aMillionDistinctUsersStayUnderTheBound() {
        let clock = ManualClock(QuotaFixture.t0)
        let store = MemoryQuotaStore(directory: nil, clock: clock)
        let route = "generate-chapter"
        let before = Self.residentBytes()

        /// Two threads, as two worker loops would (and twice as fast on two cores).
        func spend(prefix: String, at start: Double, count: Int) {
            DispatchQueue.concurrentPerform(iterations: 2) { half in
                for i in stride(from: half, to: count, by: 2) {
                    let key = QuotaKey(identity: "user:\(prefix)\(i)", route: route, index: 0)
                    _ = store.acquire([QuotaRule(key: key, limit: 10, window: 3600)], now: start + Double(i) / 1000)
                }
            }
        }

        spend(prefix: "u", at: QuotaFixture.t0, count: Self.users)
        #expect(store.keyCount == Self.users)
        let first = Self.residentBytes() - before
        clock.set(QuotaFixture.t0 + 3600 + 1000)   // every first-million hit has left its window
        spend(prefix: "v", at: clock.now(), count: Self.users / 4)
        #expect(store.keyCount == Self.users / 4)   // each shard swept its expired million on first touch
        let second = Self.residentBytes() - before
        print("quota memory: \(first / Self.users) B/key for 1M users; \(second) B in all after they expired and 250k more came")
        #expect(first < Self.users * Self.boundBytesPerKey)
        #expect(second < Self.users * Self.boundBytesPerKey)
    }

    /// Resident set size from /proc/self/statm (pages).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
