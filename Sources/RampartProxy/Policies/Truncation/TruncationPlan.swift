import RampartHTTP
import RampartLoop
import RampartTransport
/// Which messages survive: the system prompt, then the newest units that fit the budget.
struct TruncationPlan {
    /// Messages that are never dropped (OpenAI-style `system`/`developer`), kept in place.
    package let pinned: (TruncationMessage) -> Bool
    package let tokens: (TruncationCost) -> Int
    package let budget: Int

    /// A run of messages kept or dropped together.
    struct Unit { var first: Int; var last: Int; var tokens: Int; var user: Bool }

    package struct Outcome {
        /// Index of the first non-pinned message kept; everything non-pinned before it is dropped.
        var firstKept: Int
        package var dropped: Int
        package var before: Int
        package var after: Int
    }

    func callAsFunction(_ messages: [TruncationMessage], system: Int) -> Result<Outcome, TruncationError> {
        var fixed = system
        for m in messages where pinned(m) { fixed += tokens(m.cost) }
        let units = self.units(messages)
        let total = units.reduce(fixed) { $0 + $1.tokens }
        guard total > budget else { return .success(Outcome(firstKept: 0, dropped: 0, before: total, after: total)) }

        // Newest units first, while they fit; a conversation keeps a contiguous tail, never a gap.
        var remaining = budget - fixed
        var keep = units.count
        while keep > 0, units[keep - 1].tokens <= remaining {
            keep -= 1
            remaining -= units[keep].tokens
        }
        guard keep < units.count else {
            return .failure(.contextTooLarge(tokens: fixed + (units.last?.tokens ?? 0), budget: budget))
        }
        // The model must see a user turn first: an orphaned assistant turn or tool answer goes too.
        while keep < units.count, !units[keep].user { keep += 1 }
        guard keep < units.count else {
            // The smallest valid request starts at the last user turn; without any, none is valid
            // and the whole conversation is what was too large.
            let smallest = units.lastIndex(where: \.user).map { units[$0...].reduce(fixed) { $0 + $1.tokens } }
            return .failure(.contextTooLarge(tokens: smallest ?? total, budget: budget))
        }
        let kept = units[keep...].reduce(0) { $0 + $1.tokens }
        let dropped = units[..<keep].reduce(0) { $0 + $1.last - $1.first + 1 }
        return .success(Outcome(firstKept: units[keep].first, dropped: dropped, before: total, after: fixed + kept))
    }

    /// Groups non-pinned messages into units: an Anthropic assistant `tool_use` message with the user
    /// `tool_result` message after it, or an OpenAI assistant `tool_calls` message with the `tool`
    /// messages after it. Splitting either pair is rejected by the provider's API. (Any tool_result
    /// binds, not only matching ids: a result left without its call would be just as invalid.)
    func units(_ messages: [TruncationMessage]) -> [Unit] {
        var units: [Unit] = []
        units.reserveCapacity(messages.count)
        var k = 0
        while k < messages.count {
            let m = messages[k]
            if pinned(m) { k += 1; continue }
            var unit = Unit(first: k, last: k, tokens: tokens(m.cost), user: m.role == .user)
            if m.role == .assistant, m.toolUse, k + 1 < messages.count,
               messages[k + 1].role == .user, messages[k + 1].toolResult, !pinned(messages[k + 1]) {
                unit.last = k + 1
            } else if m.role == .assistant, m.toolCalls {
                while unit.last + 1 < messages.count, messages[unit.last + 1].role == .tool || messages[unit.last + 1].role == .function {
                    unit.last += 1
                }
            }
            if unit.last > k { unit.tokens = messages[k...unit.last].reduce(0) { $0 + tokens($1.cost) } }
            units.append(unit)
            k = unit.last + 1
        }
        return units
    }
}
