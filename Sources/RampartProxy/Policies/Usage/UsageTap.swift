import RampartHTTP
import RampartLoop
import RampartTransport

/// Reads token usage off an upstream AI response as it streams past, without holding the stream back.
///
/// The pipeline forwards the bytes to the client unmodified and also hands them here: an event
/// stream as the events of its one parser (`take`; only the current event is ever buffered), a
/// JSON body in whatever pieces the socket delivered (`feed`). An event's data is parsed as JSON
/// only when it can matter (it mentions `"usage"`, or `"model"`
/// while the model is still unknown), so token deltas cost a byte scan, not a parse. For JSON bodies
/// the bytes are kept up to `maxJSONBytes` and parsed once at the end; a larger body is given up on
/// rather than buffered (chat completions are far smaller; something that large is not one).
/// Compressed bodies are not decoded: the caller asks upstream for identity encoding or skips the tap.
public struct UsageTap: Sendable {
    /// Large enough for any chat completion body, small enough that a tap per in-flight call is cheap.
    public static let defaultMaxJSONBytes = 1 << 20
    /// Bound on one SSE event; a bigger one is a content delta we do not need, and is skipped
    /// (the proxy's one parser of the stream honours it: `ResponseFilter.maxEventBytes`).
    public static let maxEventBytes = 1 << 20

    package enum Kind: Sendable, Equatable { case eventStream, json, other }

    package let kind: Kind
    private let maxJSONBytes: Int
    private var accumulator = UsageAccumulator()
    private var body: [UInt8] = []
    private var gaveUp = false

    public init(contentType: String?, maxJSONBytes: Int = UsageTap.defaultMaxJSONBytes) {
        kind = Self.kind(of: contentType)
        self.maxJSONBytes = maxJSONBytes
    }

    /// Feeds the next piece of a JSON body, split anywhere. An event stream comes as events
    /// (`take`): the proxy parses each stream once for every filter that reads it.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        switch kind {
        case .json:
            guard !gaveUp else { return }
            if body.count + bytes.count > maxJSONBytes {
                gaveUp = true
                body = []
            } else {
                body.append(contentsOf: bytes)
            }
        case .eventStream, .other:
            return
        }
    }

    /// One event of an event stream.
    public mutating func take(_ event: SSEEvent) {
        Self.absorb(event, into: &accumulator)
    }

    /// Convenience for callers (and tests) holding an array.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The usage the response reported, or nil when it reported none (or was not JSON/SSE, or was too big).
    public mutating func finish() -> TokenUsage? {
        switch kind {
        case .eventStream:
            break   // an unterminated last event came through `take` (`ResponseFilter.responseEventsEnded`)
        case .json:
            if !gaveUp, !body.isEmpty, let doc = try? JSONValue.parse(body, maxDepth: 128) {
                accumulator.absorb(document: doc)
            }
            body = []
            gaveUp = true
        case .other:
            break
        }
        return accumulator.result
    }

    private static func absorb(_ event: SSEEvent, into acc: inout UsageAccumulator) {
        let worthIt = contains(event.data, "\"usage\"")
            || (acc.usage.model == nil && contains(event.data, "\"model\""))
        guard worthIt, let doc = try? JSONValue.parse(Array(event.data.utf8), maxDepth: 64) else { return }
        acc.absorb(document: doc)
    }

    /// Media type essence, case-insensitively, parameters ignored.
    package static func kind(of contentType: String?) -> Kind {
        guard let contentType else { return .other }
        let essence = String(contentType.prefix { $0 != ";" }.filter { $0 != " " && $0 != "\t" }).lowercased()
        if essence == "text/event-stream" { return .eventStream }
        if essence == "application/json" || (essence.hasPrefix("application/") && essence.hasSuffix("+json")) {
            return .json
        }
        return .other
    }
}

extension UsageTap {
    /// Plain substring search on bytes: the needles are short ASCII keys, so a first-byte scan is enough.
    fileprivate static func contains(_ text: String, _ needle: StaticString) -> Bool {
        var text = text   // withUTF8 needs a mutable string (it may make it contiguous; ours already is)
        return text.withUTF8 { hay in
            needle.withUTF8Buffer { pattern in
                let n = pattern.count
                guard n > 0, hay.count >= n else { return false }
                var i = 0
                while i <= hay.count - n {
                    if hay[i] == pattern[0] && (1..<n).allSatisfy({ hay[i + $0] == pattern[$0] }) { return true }
                    i += 1
                }
                return false
            }
        }
    }
}
