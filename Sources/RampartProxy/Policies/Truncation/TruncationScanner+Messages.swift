import RampartHTTP
import RampartLoop
import RampartTransport
/// Reading chat messages: roles, tool links and how much text and media they carry.
extension TruncationScanner {
    /// Scans the messages array the scanner is positioned at, replacing any earlier one (for a
    /// duplicated key the last wins, as it does for the upstream's JSON parser).
    package mutating func messages(depth: Int, into doc: inout TruncationDocument) throws(TruncationError) {
        doc.found = .array
        doc.messages.removeAll(keepingCapacity: true)
        if try open(0x5B, depth: depth) {
            repeat {
                _ = try peek()
                var m = TruncationMessage(start: i, end: i)
                try message(depth: depth + 1, into: &m)
                m.end = i
                doc.messages.append(m)
            } while try next(0x5D)
        }
    }

    /// One message object; anything that is not an object is kept as an `other` message with its strings counted.
    package mutating func message(depth: Int, into m: inout TruncationMessage) throws(TruncationError) {
        guard try peek() == 0x7B else { return try countStrings(depth: depth, into: &m.cost.chars) }
        guard try open(0x7B, depth: depth) else { return }
        repeat {
            let k = try key()
            if equals(k, "role"), try peek() == 0x22 {
                m.role = role(try string())
            } else if equals(k, "content") {
                var cost = TruncationCost()
                try content(depth: depth + 1, into: &cost, message: &m)
                m.cost += cost
            } else if equals(k, "tool_calls") || equals(k, "function_call") {
                let b = try peek()
                if b == 0x5B {
                    if try open(0x5B, depth: depth + 1) {
                        m.toolCalls = true
                        repeat { try countStrings(depth: depth + 2, into: &m.cost.chars) } while try next(0x5D)
                    }
                } else {
                    m.toolCalls = m.toolCalls || b == 0x7B
                    try countStrings(depth: depth + 1, into: &m.cost.chars)
                }
            } else {
                try skipValue(depth: depth + 1)
            }
        } while try next(0x7D)
    }

    /// A `content` (or `system`) value: a string, or an array of content blocks.
    package mutating func content(depth: Int, into cost: inout TruncationCost, message m: inout TruncationMessage) throws(TruncationError) {
        switch try peek() {
        case 0x22: cost.chars += try string().scalars
        case 0x5B:
            if try open(0x5B, depth: depth) {
                repeat { try block(depth: depth + 1, into: &cost, message: &m) } while try next(0x5D)
            }
        default: try skipValue(depth: depth)
        }
    }

    private enum BlockKind { case text, toolUse, toolResult, media }

    /// One content block. Text counts its `text` (or `thinking`/`refusal`), a tool call the JSON length
    /// of its `input`, a tool result its nested `content`; media blocks count once at the fixed cost,
    /// whatever their (base64) payload, since providers bill images by size, not by bytes sent.
    private mutating func block(depth: Int, into cost: inout TruncationCost, message m: inout TruncationMessage) throws(TruncationError) {
        switch try peek() {
        case 0x22: cost.chars += try string().scalars; return
        case 0x7B: break
        default: return try skipValue(depth: depth)
        }
        var kind = BlockKind.text
        var local = TruncationCost()
        if try open(0x7B, depth: depth) {
            repeat {
                let k = try key()
                let b = try peek()
                if equals(k, "type"), b == 0x22 {
                    kind = blockKind(try string())
                } else if b == 0x22, equals(k, "text") || equals(k, "thinking") || equals(k, "refusal") {
                    local.chars += try string().scalars
                } else if equals(k, "input") {
                    let start = i
                    try skipValue(depth: depth + 1)
                    local.chars += i - start
                } else if equals(k, "content") {
                    try content(depth: depth + 1, into: &local, message: &m)
                } else {
                    try skipValue(depth: depth + 1)
                }
            } while try next(0x7D)
        }
        switch kind {
        case .media: cost.media += 1
        case .toolUse: m.toolUse = true; cost += local
        case .toolResult: m.toolResult = true; cost += local
        case .text: cost += local
        }
    }

    /// Adds the decoded length of every string inside the value except `id` and `type` members:
    /// for tool calls that is the function name and its arguments.
    mutating func countStrings(depth: Int, into chars: inout Int) throws(TruncationError) {
        switch try peek() {
        case 0x22: chars += try string().scalars
        case 0x7B:
            if try open(0x7B, depth: depth) {
                repeat {
                    let k = try key()
                    if equals(k, "id") || equals(k, "type") { try skipValue(depth: depth + 1) }
                    else { try countStrings(depth: depth + 1, into: &chars) }
                } while try next(0x7D)
            }
        case 0x5B:
            if try open(0x5B, depth: depth) {
                repeat { try countStrings(depth: depth + 1, into: &chars) } while try next(0x5D)
            }
        default: try skipValue(depth: depth)
        }
    }

    private func role(_ s: TruncationString) -> TruncationMessage.Role {
        if equals(s, "user") { return .user }
        if equals(s, "assistant") { return .assistant }
        if equals(s, "system") { return .system }
        if equals(s, "developer") { return .developer }
        if equals(s, "tool") { return .tool }
        if equals(s, "function") { return .function }
        return .other
    }

    private func blockKind(_ s: TruncationString) -> BlockKind {
        if equals(s, "tool_use") || equals(s, "server_tool_use") { return .toolUse }
        if equals(s, "tool_result") { return .toolResult }
        for media: StaticString in ["image", "document", "image_url", "input_image", "input_audio", "audio", "file", "input_file"]
        where equals(s, media) { return .media }
        return .text
    }
}
