import RampartHTTP
import RampartTransport

/// On an OpenAI route (SPEC §11.1) every streamed chat completion is counted: a request that did
/// not ask for `stream_options.include_usage` gets it upstream (OpenAI sends no usage otherwise, so
/// budgets could be bypassed), and what that brings is taken out of the client's stream again: the
/// usage chunk, and the `"usage":null` OpenAI then adds to every other chunk. The client gets the
/// bytes it would have got without the option (LiteLLM injects too, but re-serializes the chunks).
struct UsageInjection: RouteFilter {
    var phases: FilterPhases { [.requestBody, .response] }

    func readsBody(_ ctx: RequestContext) -> Bool { ctx.head.method == "POST" && ctx.head.framing != .none }

    func requestBody(_ body: [UInt8], _ ctx: RequestContext, _ done: @escaping (BodyVerdict) -> Void) {
        if let asked = Self.askingForUsage(body) {
            ctx.usageInjected = true
            done(.proceed(asked))
        } else {
            done(.proceed(body))
        }
    }

    func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? {
        guard ctx.usageInjected, (200..<300).contains(head.status),
              head.headers["Content-Type"]?.lowercased().hasPrefix("text/event-stream") == true else { return nil }
        return UsageChunkRemoval()
    }

    /// The body with `stream_options.include_usage: true`, or nil when it streams no completion or
    /// already asks. Without `stream_options` the member is added before the closing brace, so the
    /// client's bytes (its numbers above all) stay as they were; an existing `stream_options`
    /// is rewritten with the document.
    static func askingForUsage(_ body: [UInt8]) -> [UInt8]? {
        // Chat Completions (`messages`) and Completions (`prompt`) only: the Responses API reports
        // usage in its `response.completed` event and refuses this option.
        guard case .object(var members)? = try? JSONValue.parse(body), members.last(where: { $0.key == "stream" })?.value == .bool(true),
              members.contains(where: { $0.key == "messages" || $0.key == "prompt" }) else {
            return nil
        }
        let asking = JSONValue.object([(key: "include_usage", value: .bool(true))])
        if let i = members.firstIndex(where: { $0.key == "stream_options" }), members[i].value == .null {   // null means absent
            members[i].value = asking
            return Array(JSONValue.object(members).jsonText().utf8)
        }
        guard let i = members.firstIndex(where: { $0.key == "stream_options" }) else {
            guard let close = body.lastIndex(of: UInt8(ascii: "}")) else { return nil }
            return Array(body[..<close]) + Array(#","stream_options":{"include_usage":true}"#.utf8) + Array(body[close...])
        }
        guard case .object(var options) = members[i].value else { return nil }   // invalid: the provider's 400
        if options.first(where: { $0.key == "include_usage" })?.value == .bool(true) { return nil }
        options.removeAll { $0.key == "include_usage" }
        options.append((key: "include_usage", value: .bool(true)))
        members[i].value = .object(options)
        return Array(JSONValue.object(members).jsonText().utf8)
    }
}

/// Takes OpenAI's usage chunk (`"choices": []` with a `usage` object), and the `"usage":null` of
/// the other chunks, out of a stream whose client did not ask for them. Events pass whole, so
/// bytes are held only until the current event ends.
final class UsageChunkRemoval: ResponseFilter {
    /// An event bigger than this is no usage chunk: it passes unread.
    static let maxHeldBytes = 1 << 20
    private var held: [UInt8] = []
    private var atLineStart = true
    private var afterCR = false
    private var passing = false
    /// The last event ended on a CR whose LF may follow: it belongs to that event. The value says
    /// whether that event was dropped.
    private var endedOnCR: Bool?

    func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict { .pass }
    func responseBody(_ bytes: UnsafeRawBufferPointer) {}
    func completed(_ ending: ExchangeEnding) {}
    var editsBody: Bool { true }

    /// Complete events go out (but the usage chunk); the start of an unfinished one waits. An
    /// event the stream never finished is dropped at its end, as an SSE client drops it.
    func editBody(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        for (i, b) in bytes.enumerated() {
            if let dropped = endedOnCR {
                endedOnCR = nil
                if b == 0x0A {
                    if !dropped { out.append(b) }
                    afterCR = false
                    start = i + 1
                    continue
                }
            }
            if afterCR && b == 0x0A { afterCR = false; continue }   // the LF of a CRLF
            afterCR = b == 0x0D
            guard b == 0x0A || b == 0x0D else { atLineStart = false; continue }
            if !atLineStart { atLineStart = true; continue }
            // A blank line: the event ends here.
            let tail = UnsafeRawBufferPointer(rebasing: bytes[start...i])
            var dropped = false
            if passing { out.append(contentsOf: tail) } else {
                held.append(contentsOf: tail)
                dropped = Self.isUsageChunk(held)
                if !dropped { out += Self.withoutNullUsage(held) }
            }
            if b == 0x0D { endedOnCR = dropped }
            held.removeAll(keepingCapacity: true)
            passing = false
            start = i + 1
        }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
        if passing { out.append(contentsOf: rest) } else {
            held.append(contentsOf: rest)
            if held.count > Self.maxHeldBytes { out += held; held = []; passing = true }
        }
        return out
    }

    /// One event's bytes: its `data:` lines hold a chunk with no choices and a usage object.
    static func isUsageChunk(_ event: [UInt8]) -> Bool {
        guard event.count < maxHeldBytes, contains(event, #""usage""#) else { return false }
        var data: [UInt8] = []
        for line in event.split(whereSeparator: { $0 == 0x0A || $0 == 0x0D }) where line.starts(with: Array("data:".utf8)) {
            var value = line.dropFirst(5)
            if value.first == 0x20 { value = value.dropFirst() }
            if !data.isEmpty { data.append(0x0A) }
            data += value
        }
        guard let v = try? JSONValue.parse(data), case .array(let choices)? = v["choices"], choices.isEmpty,
              case .object? = v["usage"] else { return false }
        return true
    }

    /// The event without the member OpenAI adds when usage is asked for (`,"usage":null`, compact
    /// or spaced). Inside a JSON string its quotes would be escaped, so only the member matches.
    static func withoutNullUsage(_ event: [UInt8]) -> [UInt8] {
        for pattern in nullUsage {
            guard let i = firstIndex(of: pattern, in: event) else { continue }
            return Array(event[..<i]) + Array(event[(i + pattern.count)...])
        }
        return event
    }
    private static let nullUsage = [#","usage":null"#, #", "usage": null"#].map { Array($0.utf8) }

    private static func contains(_ bytes: [UInt8], _ needle: String) -> Bool { firstIndex(of: Array(needle.utf8), in: bytes) != nil }

    private static func firstIndex(of n: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= n.count else { return nil }
        for i in 0...(bytes.count - n.count) where bytes[i] == n[0] && bytes[i..<(i + n.count)].elementsEqual(n) { return i }
        return nil
    }
}
