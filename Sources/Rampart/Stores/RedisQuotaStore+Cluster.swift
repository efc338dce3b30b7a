import RampartHTTP
import RampartProxy

/// Quotas on Redis Cluster when one request's rules span identities (a per-user and a per-IP quota
/// on one route): their keys hash to different slots, so one script cannot hold them all (Redis
/// would answer CROSSSLOT). Each identity's rules run as one atomic script, all at once; if any
/// says no, the hits the others recorded are taken back (`refund`). Every check-and-record stays
/// atomic per key, so no limit is ever exceeded; a request racing the refund may be refused when it
/// would have fit, never admitted when it would not.
extension RedisQuotaStore {
    /// Rule indexes grouped by identity (the hash tag), in first-seen order.
    static func slotGroups(_ rules: [QuotaRule]) -> [[Int]] {
        var order: [String] = []
        var groups: [String: [Int]] = [:]
        for (i, rule) in rules.enumerated() {
            if groups[rule.key.identity] == nil { order.append(rule.key.identity) }
            groups[rule.key.identity, default: []].append(i)
        }
        return order.map { groups[$0]! }
    }

    func runBySlot(_ rules: [QuotaRule], groups: [[Int]], now: Double, record: Bool,
                   completion: @escaping (Result<QuotaDecision, RedisError>) -> Void) {
        let nowMs = QuotaSlidingWindow.milliseconds(now)
        counter &+= 1
        let member = "\(nowMs)-\(token)-\(counter)"
        var answers = [Result<(limited: Bool, states: [RedisQuotaScripts.KeyState]), RedisError>?](repeating: nil, count: groups.count)
        var waiting = groups.count
        for (g, indexes) in groups.enumerated() {
            runScript(indexes.map { rules[$0] }, nowMs: nowMs, member: member, record: record) { [weak self] answer in
                answers[g] = answer
                waiting -= 1
                guard waiting == 0, let self else { return }
                completion(self.combine(rules, groups: groups, answers: answers.map { $0! }, member: member, record: record, nowMs: nowMs))
            }
        }
    }

    /// One decision from the groups' answers, refunding what was recorded for a request refused
    /// (or failed) as a whole.
    private func combine(_ rules: [QuotaRule], groups: [[Int]],
                         answers: [Result<(limited: Bool, states: [RedisQuotaScripts.KeyState]), RedisError>],
                         member: String, record: Bool, nowMs: Int64) -> Result<QuotaDecision, RedisError> {
        var states = [RedisQuotaScripts.KeyState](repeating: .init(count: 0, oldest: nil, kth: nil), count: rules.count)
        var limited = false
        var failure: RedisError?
        for (g, answer) in answers.enumerated() {
            switch answer {
            case .failure(let e): failure = failure ?? e
            case .success(let a):
                limited = limited || a.limited
                for (j, i) in groups[g].enumerated() { states[i] = a.states[j] }
            }
        }
        guard record, failure != nil || limited else {
            if let failure { return .failure(failure) }
            return .success(RedisQuotaScripts.decision(rules, limited: limited, states: states, nowMs: nowMs))
        }
        // Take back the hits of the groups that had room: the request as a whole did not pass.
        // (Best effort: a refund that fails, or a group whose script may have run before its
        // connection dropped, leaves a hit counted for one window: over-limiting, never under.)
        for (g, answer) in answers.enumerated() {
            guard case .success(let a) = answer, !a.limited else { continue }
            let keys = groups[g].filter { rules[$0].unit == .requests }
            guard !keys.isEmpty else { continue }
            refundScript.run(on: client, keys: keys.map { rules[$0].key.description }, args: [member]) { _ in }
            for i in keys {
                states[i].count = max(0, states[i].count - 1)
                if states[i].count == 0 { states[i].oldest = nil }
                states[i].kth = nil
            }
        }
        if let failure { return .failure(failure) }
        return .success(RedisQuotaScripts.decision(rules, limited: true, states: states, nowMs: nowMs))
    }

    /// `charge` per identity: tokens are charged whatever else happens, so no refund is needed.
    func chargeBySlot(_ rules: [QuotaRule], tokens: [Int], now: Double, completion: @escaping (Result<Void, RedisError>) -> Void) {
        let groups = Self.slotGroups(rules)
        var waiting = groups.count
        var failure: RedisError?
        for indexes in groups {
            charge(indexes.map { rules[$0] }, tokens: indexes.map { tokens[$0] }, now: now) { r in
                if case .failure(let e) = r { failure = failure ?? e }
                waiting -= 1
                if waiting == 0 { completion(failure.map { .failure($0) } ?? .success(())) }
            }
        }
    }
}
