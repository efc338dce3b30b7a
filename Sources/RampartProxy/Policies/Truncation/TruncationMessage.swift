import RampartHTTP
import RampartLoop
import RampartTransport
/// Text and media found in a message or system prompt, before conversion to tokens.
struct TruncationCost: Sendable {
    /// Decoded characters of text (plus the JSON length of tool inputs).
    var chars = 0
    /// Images, documents, audio and files: each costs a fixed, configured number of tokens.
    var media = 0

    package static func += (a: inout TruncationCost, b: TruncationCost) {
        a.chars += b.chars
        a.media += b.media
    }
}

/// One element of the messages array: its byte range (kept or dropped whole) and what decides its fate.
struct TruncationMessage: Sendable {
    enum Role: Sendable { case user, assistant, system, developer, tool, function, other }

    /// First byte of the element.
    package var start: Int
    /// One past its last byte.
    package var end: Int
    package var role: Role = .other
    package var cost = TruncationCost()
    /// Anthropic: the content holds `tool_use` blocks, so the next user message answers it.
    package var toolUse = false
    /// Anthropic: the content holds `tool_result` blocks, answering the previous assistant message.
    package var toolResult = false
    /// OpenAI: non-empty `tool_calls` (or a legacy `function_call`), answered by following `tool` messages.
    package var toolCalls = false
}

/// What a scan of the whole body found.
struct TruncationDocument {
    package enum Found { case missing, notArray, array }
    package var found = Found.missing
    package var messages: [TruncationMessage] = []
    /// Anthropic's top-level `system`, counted against the budget.
    package var system = TruncationCost()
}
