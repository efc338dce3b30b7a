import RampartHTTP
import RampartProxy
import RampartLoop
import RampartTransport
/// The quota decision for one request, free of storage and locking so every store makes the same
/// decision: the memory store runs it under its shard locks, and the Redis store's Lua script mirrors
/// it step for step (prune, check all, then record all) on sorted sets scored in milliseconds.
public enum QuotaSlidingWindow {
    /// Store time: unix milliseconds, rounded to the nearest. Working in whole milliseconds keeps the
    /// arithmetic exact (no float drift at window edges); the limit holds exactly on that timeline.
    public static func milliseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }

    /// A rule's window in milliseconds, at least 1 (a zero window would count nothing).
    public static func windowMs(_ rule: QuotaRule) -> Int64 { max(1, milliseconds(rule.window)) }

    /// Prunes each log, and records a hit at `nowMs` in every request rule's log only if every rule
    /// has room. A token rule has room while its window's tokens are under the limit; it records nothing
    /// here (`charge` does, after the call), so a call refused by any rule costs no rule anything.
    /// `logs[i]` is the log of `rules[i]`; keys must be distinct (one log per key).
    public static func decide(_ rules: [QuotaRule], logs: inout [QuotaLog], nowMs: Int64) -> QuotaDecision {
        var limited = false
        var waitMs: Int64 = 0
        for i in rules.indices {
            logs[i].prune(nowMs: nowMs, windowMs: windowMs(rules[i]))
            if logs[i].used(rules[i].unit) >= rules[i].limit {
                limited = true
                waitMs = max(waitMs, logs[i].roomAt(limit: rules[i].limit, nowMs: nowMs, unit: rules[i].unit) - nowMs)
            }
        }
        if !limited {
            for i in rules.indices where rules[i].unit == .requests { logs[i].record(nowMs, limit: rules[i].limit) }
        }
        let statuses = rules.indices.map { logs[$0].status(limit: rules[$0].limit, nowMs: nowMs, unit: rules[$0].unit) }
        return limited ? .limited(retryAfter: retryAfter(ms: waitMs), statuses) : .allowed(statuses)
    }

    /// `decide` for one rule, on its log where it lies (the memory store's usual case).
    public static func decide(_ rule: QuotaRule, log: inout QuotaLog, nowMs: Int64) -> QuotaDecision {
        log.prune(nowMs: nowMs, windowMs: windowMs(rule))
        if log.used(rule.unit) >= rule.limit {
            let waitMs = log.roomAt(limit: rule.limit, nowMs: nowMs, unit: rule.unit) - nowMs
            return .limited(retryAfter: retryAfter(ms: max(0, waitMs)), [log.status(limit: rule.limit, nowMs: nowMs, unit: rule.unit)])
        }
        if rule.unit == .requests { log.record(nowMs, limit: rule.limit) }
        return .allowed([log.status(limit: rule.limit, nowMs: nowMs, unit: rule.unit)])
    }

    /// The statuses without recording (pruning only forgets what no longer counts).
    public static func peek(_ rules: [QuotaRule], logs: inout [QuotaLog], nowMs: Int64) -> [QuotaStatus] {
        rules.indices.map { i in
            logs[i].prune(nowMs: nowMs, windowMs: windowMs(rules[i]))
            return logs[i].status(limit: rules[i].limit, nowMs: nowMs, unit: rules[i].unit)
        }
    }

    /// Charges `tokens[i]` at `nowMs` to `logs[i]` (pruned first, so a log never holds more than one
    /// window of charges). A charge of 0 adds nothing; the statuses are as a peek after the charge.
    public static func charge(_ rules: [QuotaRule], tokens: [Int], logs: inout [QuotaLog], nowMs: Int64) -> [QuotaStatus] {
        rules.indices.map { i in
            logs[i].prune(nowMs: nowMs, windowMs: windowMs(rules[i]))
            if tokens[i] > 0 { logs[i].charge(nowMs, tokens: tokens[i]) }
            return logs[i].status(limit: rules[i].limit, nowMs: nowMs, unit: .tokens)
        }
    }

    /// Whole seconds covering `ms`, at least 1: a client waiting exactly this long finds room.
    public static func retryAfter(ms: Int64) -> Int { max(1, Int((ms + 999) / 1000)) }
}
