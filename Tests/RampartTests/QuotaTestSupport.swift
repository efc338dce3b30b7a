import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Synchronization
@testable import Rampart

/// Helpers shared by the quota tests (namespaced so other test files can't collide with them).
enum QuotaFixture {
    static let t0: Double = 1_700_000_000

    static func rule(_ identity: String = "user:u1", route: String = "generate-chapter", index: Int = 0,
                     limit: Int, per window: Double) -> QuotaRule {
        QuotaRule(key: QuotaKey(identity: identity, route: route, index: index), limit: limit, window: window)
    }

    static func retryAfter(_ decision: QuotaDecision) -> Int? {
        if case .limited(let seconds, _) = decision { return seconds } else { return nil }
    }

    /// A fresh directory under the system temp dir, removed by the caller.
    static func temporaryDirectory() -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rampart-quota-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

/// A reproducible random stream (SplitMix64), so a failing random schedule can be replayed from its seed.
struct QuotaRandom {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// A counter threads can bump.
final class QuotaCounter: Sendable {
    private let value = Lock(0)
    func add(_ n: Int = 1) { value.withLock { $0 += n } }
    var count: Int { value.withLock { $0 } }
}
