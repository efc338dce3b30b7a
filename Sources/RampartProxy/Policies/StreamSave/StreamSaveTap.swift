import RampartHTTP
import RampartLoop
import RampartTransport

/// Accumulates the generated text of an SSE stream as it passes to the client (SPEC §8.2), per
/// `stream_save.format`, and notices the provider's terminal event, so a stream cut short is
/// never mistaken for a finished one. The bytes themselves are forwarded untouched elsewhere.
package struct StreamSaveTap {
    package let format: StreamSaveConfig.Format
    package private(set) var content = ""
    /// The provider said the stream is complete (`message_stop`, `[DONE]`); formats without a
    /// terminal event (`text`, custom) are complete when the upstream ends cleanly.
    package private(set) var sawTerminal = false

    package init(format: StreamSaveConfig.Format) { self.format = format }

    package var needsTerminalEvent: Bool {
        switch format { case .anthropic, .openai: return true; default: return false }
    }

    /// One event of the stream (the proxy parses each stream once for every filter that reads it).
    package mutating func take(_ e: SSEEvent) {
        switch format {
        case .anthropic:
            if e.event == "message_stop" || (e.event == "message" && e.data.contains("\"message_stop\"")) { sawTerminal = true; return }
            guard e.event == "content_block_delta" || e.data.contains("content_block_delta"),
                  let v = try? JSONValue.parse(Array(e.data.utf8)),
                  case .string(let text)? = v["delta"]?["text"] else { return }
            content += text
        case .openai:
            if e.data == "[DONE]" { sawTerminal = true; return }
            guard let v = try? JSONValue.parse(Array(e.data.utf8)),
                  case .array(let choices)? = v["choices"], let first = choices.first,
                  case .string(let text)? = first["delta"]?["content"] else { return }
            content += text
        case .text:
            if !content.isEmpty { content += "\n" }
            content += e.data
        case .custom(let event, let pointer):
            if let event, e.event != event { return }
            guard let v = try? JSONValue.parse(Array(e.data.utf8)), case .string(let text)? = v.at(pointer: pointer) else { return }
            content += text
        }
    }
}

extension JSONValue {
    /// RFC 6901 pointer lookup ("/a/0/b"; "~1" is "/", "~0" is "~").
    package func at(pointer: String) -> JSONValue? {
        if pointer.isEmpty { return self }
        var node: JSONValue = self
        for raw in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let token = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch node {
            case .object: guard let next = node[token] else { return nil }; node = next
            case .array(let items): guard let i = Int(token), i >= 0, i < items.count else { return nil }; node = items[i]
            default: return nil
            }
        }
        return node
    }
}

extension StreamSaveTap {
    /// The generated text of a whole JSON answer (a non-streaming call on a save route): Anthropic's
    /// text blocks, OpenAI's first choice, or the text at a custom format's pointer. Nil when the
    /// body is not such an answer (a `text` route's answers are streams; other JSON is not saved).
    package static func content(ofJSON body: [UInt8], format: StreamSaveConfig.Format) -> String? {
        guard let doc = try? JSONValue.parse(body) else { return nil }
        switch format {
        case .anthropic:
            guard case .array(let blocks)? = doc["content"], doc["type"] == .string("message") else { return nil }
            return blocks.compactMap { block -> String? in
                guard block["type"] == .string("text"), case .string(let text)? = block["text"] else { return nil }
                return text
            }.joined()
        case .openai:
            guard case .array(let choices)? = doc["choices"], let first = choices.first,
                  case .string(let text)? = first["message"]?["content"] else { return nil }
            return text
        case .custom(_, let pointer):
            if case .string(let text)? = doc.at(pointer: pointer) { return text }
            return nil
        case .text:
            return nil
        }
    }
}
