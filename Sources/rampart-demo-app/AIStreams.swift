import Foundation

/// Pacing and shape shared by every fake model response.
struct Generation {
    var model: String
    var inputTokens: Int
    var deltas: [String]
    /// Pause before every event after the first (`?delay_ms=`).
    var delayMs: Int
    /// `?cut=1`: drop the connection halfway through the text, before `message_stop` / `[DONE]`.
    var cut: Bool

    var text: String { deltas.joined() }
    var outputTokens: Int { TextGenerator.tokens(bytes: text.utf8.count) }

    /// Index of the delta after which a cut stream dies.
    var cutAfter: Int? { cut ? max(1, deltas.count / 2) : nil }

    /// Reads `?delay_ms=`, `?events=` and `?cut=` from the request.
    init(request: Request, model: String, seed: String, title: String? = nil) {
        self.model = model
        self.inputTokens = TextGenerator.tokens(bytes: request.body.count)
        let events = request.queryInt("events", default: 12, in: 1...100_000)
        self.deltas = TextGenerator.deltas(seed: seed, pieces: events, title: title)
        self.delayMs = request.queryInt("delay_ms", default: 40, in: 0...600_000)
        self.cut = request.query["cut"].map { $0 != "0" && $0 != "false" } ?? false
    }
}

/// Anthropic Messages API streaming: the event sequence Rampart's `anthropic` stream_save and
/// usage parsers read (`message_start` usage, `content_block_delta` text, `message_delta` usage).
enum AnthropicStream {
    static func run(_ gen: Generation, _ res: ResponseWriter) {
        guard let sse = SSEWriter.start(res) else { return }
        var first = true
        func emit(_ event: String, _ data: JSON) -> Bool {
            if !first { res.pause(ms: gen.delayMs) }
            first = false
            return sse.send(event: event, data: data)
        }
        let message: JSON = [
            "id": .string("msg_" + TextGenerator.randomID()), "type": "message", "role": "assistant",
            "model": .string(gen.model), "content": [], "stop_reason": nil, "stop_sequence": nil,
            "usage": ["input_tokens": .int(gen.inputTokens), "output_tokens": 1],
        ]
        guard emit("message_start", ["type": "message_start", "message": message]),
            emit("content_block_start", [
                "type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""],
            ])
        else { return }
        for (i, piece) in gen.deltas.enumerated() {
            let delta: JSON = [
                "type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": .string(piece)],
            ]
            guard emit("content_block_delta", delta) else { return }
            if let cutAfter = gen.cutAfter, i + 1 == cutAfter {
                res.pause(ms: gen.delayMs)
                return res.abort()
            }
        }
        _ = emit("content_block_stop", ["type": "content_block_stop", "index": 0])
            && emit("message_delta", [
                "type": "message_delta", "delta": ["stop_reason": "end_turn", "stop_sequence": nil],
                "usage": ["output_tokens": .int(gen.outputTokens)],
            ])
            && emit("message_stop", ["type": "message_stop"])
    }

    /// The non-streaming Messages API answer.
    static func message(_ gen: Generation) -> JSON {
        [
            "id": .string("msg_" + TextGenerator.randomID()), "type": "message", "role": "assistant",
            "model": .string(gen.model), "content": [["type": "text", "text": .string(gen.text)]],
            "stop_reason": "end_turn", "stop_sequence": nil,
            "usage": ["input_tokens": .int(gen.inputTokens), "output_tokens": .int(gen.outputTokens)],
        ]
    }
}

/// OpenAI Chat Completions streaming: `data:`-only chunks, an optional usage chunk, then `[DONE]`.
enum OpenAIStream {
    static func run(_ gen: Generation, includeUsage: Bool, _ res: ResponseWriter) {
        guard let sse = SSEWriter.start(res) else { return }
        let id = "chatcmpl-" + TextGenerator.randomID()
        let created = Int(Date().timeIntervalSince1970)
        var first = true
        func emit(_ data: String) -> Bool {
            if !first { res.pause(ms: gen.delayMs) }
            first = false
            return sse.send(event: nil, data: data)
        }
        func chunk(_ choices: JSON, usage: JSON? = nil) -> String {
            var members: [(String, JSON)] = [
                ("id", .string(id)), ("object", "chat.completion.chunk"), ("created", .int(created)),
                ("model", .string(gen.model)), ("choices", choices),
            ]
            if let usage { members.append(("usage", usage)) } else if includeUsage { members.append(("usage", nil)) }
            return JSON.object(members).text
        }
        func choice(_ delta: JSON, finish: JSON = nil) -> JSON {
            [["index": 0, "delta": delta, "finish_reason": finish]]
        }
        guard emit(chunk(choice(["role": "assistant", "content": ""]))) else { return }
        for (i, piece) in gen.deltas.enumerated() {
            guard emit(chunk(choice(["content": .string(piece)]))) else { return }
            if let cutAfter = gen.cutAfter, i + 1 == cutAfter {
                res.pause(ms: gen.delayMs)
                return res.abort()
            }
        }
        guard emit(chunk(choice([:], finish: "stop"))) else { return }
        if includeUsage {
            let usage: JSON = [
                "prompt_tokens": .int(gen.inputTokens), "completion_tokens": .int(gen.outputTokens),
                "total_tokens": .int(gen.inputTokens + gen.outputTokens),
            ]
            guard emit(chunk([], usage: usage)) else { return }
        }
        _ = emit("[DONE]")
    }

    /// The non-streaming chat.completion answer.
    static func completion(_ gen: Generation) -> JSON {
        [
            "id": .string("chatcmpl-" + TextGenerator.randomID()), "object": "chat.completion",
            "created": .int(Int(Date().timeIntervalSince1970)), "model": .string(gen.model),
            "choices": [
                ["index": 0, "message": ["role": "assistant", "content": .string(gen.text)], "finish_reason": "stop"],
            ],
            "usage": [
                "prompt_tokens": .int(gen.inputTokens), "completion_tokens": .int(gen.outputTokens),
                "total_tokens": .int(gen.inputTokens + gen.outputTokens),
            ],
        ]
    }
}
