import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
@testable import Rampart

/// Recorded-shape provider responses shared by the usage tests (namespaced to avoid collisions).
enum UsageFixture {
    /// An Anthropic Messages stream: usage in `message_start`, cumulative output in `message_delta`.
    static let anthropicSSE = """
    event: message_start
    data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}

    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: ping
    data: {"type": "ping"}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, \\"model\\" and \\"usage\\""}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

    event: message_stop
    data: {"type":"message_stop"}


    """

    static let anthropicUsage = TokenUsage(model: "claude-sonnet-4-5-20250929", inputTokens: 25, outputTokens: 15,
                                           cacheReadTokens: 2000, cacheWriteTokens: 100)

    /// An OpenAI Chat Completions stream with `stream_options.include_usage`: `usage` null until the last chunk.
    static let openAISSE = """
    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":42,"total_tokens":1242,"prompt_tokens_details":{"cached_tokens":1024}}}

    data: [DONE]


    """

    static let openAIUsage = TokenUsage(model: "gpt-4o-2024-08-06", inputTokens: 176, outputTokens: 42,
                                        cacheReadTokens: 1024, cacheWriteTokens: 0)

    static let anthropicJSON = """
    {"id":"msg_2","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"ok"}],
     "stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":40}}
    """

    static let openAIJSON = """
    {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
     "choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
     "usage":{"prompt_tokens":30,"completion_tokens":5,"total_tokens":35}}
    """

    /// Runs a whole body through a tap in pieces of `chunk` bytes, as the proxy does: a JSON body
    /// as bytes, an event stream through one parser as events.
    static func tap(_ body: String, contentType: String?, chunk: Int = .max) -> TokenUsage? {
        var tap = UsageTap(contentType: contentType)
        var parser = SSEParser(maxEventBytes: UsageTap.maxEventBytes)
        let isStream = tap.kind == .eventStream
        let bytes = Array(body.utf8)
        var i = 0
        while i < bytes.count {
            let j = min(bytes.count, i + min(chunk, bytes.count))
            if isStream {
                var events: [SSEEvent] = []
                parser.feed(Array(bytes[i..<j])) { events.append($0) }
                for e in events { tap.take(e) }
            } else {
                tap.feed(Array(bytes[i..<j]))
            }
            i = j
        }
        if isStream {   // the stream's end closes an event its blank line never did
            parser.feed([0x0A, 0x0A]) { tap.take($0) }
        }
        return tap.finish()
    }

    static func price(_ input: Double, _ output: Double, read: Double? = nil, write: Double? = nil) -> PriceConfig {
        PriceConfig(inputPerMtok: input, outputPerMtok: output, cacheReadPerMtok: read, cacheWritePerMtok: write)
    }
}
