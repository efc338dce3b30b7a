/// The AI endpoints: the app's own chapter generator and chat, plus stand-ins for the Anthropic and
/// OpenAI APIs so Rampart's egress features (usage, truncation, retries) can be tested offline.
enum AIRoutes {
    static let defaultAnthropicModel = "claude-sonnet-4-5"
    static let defaultOpenAIModel = "gpt-4o-mini"

    /// `POST /api/ai/generate/chapter` — Anthropic-style SSE for `{"chapterId": …, "prompt": …}`.
    static func generateChapter(_ req: Request, _ res: ResponseWriter) {
        let body = req.json
        let chapterId = body?["chapterId"]?.stringValue ?? "c1"
        let prompt = body?["prompt"]?.stringValue ?? ""
        let gen = Generation(request: req, model: defaultAnthropicModel, seed: chapterId + "|" + prompt,
                             title: "Chapter \(chapterId).")
        AnthropicStream.run(gen, res)
    }

    /// `POST /v1/messages` — the Anthropic Messages API, streaming when `"stream": true`.
    static func anthropicMessages(_ req: Request, _ res: ResponseWriter) {
        guard let body = req.json, case .object = body else {
            return res.json(400, [
                "type": "error", "error": ["type": "invalid_request_error", "message": "Body must be a JSON object"],
            ])
        }
        let model = body["model"]?.stringValue ?? defaultAnthropicModel
        let gen = Generation(request: req, model: model, seed: lastUserText(body) ?? "")
        if body["stream"]?.boolValue == true {
            AnthropicStream.run(gen, res)
        } else {
            res.json(200, AnthropicStream.message(gen))
        }
    }

    /// `POST /v1/chat/completions` — OpenAI Chat Completions, streaming when `"stream": true`.
    static func openAIChatCompletions(_ req: Request, _ res: ResponseWriter) {
        guard let body = req.json, case .object = body else {
            return res.json(400, [
                "error": ["message": "Body must be a JSON object", "type": "invalid_request_error", "code": nil],
            ])
        }
        let model = body["model"]?.stringValue ?? defaultOpenAIModel
        let gen = Generation(request: req, model: model, seed: lastUserText(body) ?? "")
        if body["stream"]?.boolValue == true {
            let includeUsage = body["stream_options"]?["include_usage"]?.boolValue == true
            OpenAIStream.run(gen, includeUsage: includeUsage, res)
        } else {
            res.json(200, OpenAIStream.completion(gen))
        }
    }

    /// `POST /api/ai/chat` — echoes what arrived so a proxy's truncation is visible: byte and message
    /// counts, whether a system prompt survived, and the body itself (as JSON when it parses).
    static func chat(_ req: Request, _ res: ResponseWriter) {
        let body = req.json
        let messages = body?["messages"]?.arrayValue ?? []
        let hasSystem = body?["system"] != nil || messages.contains {
            let role = $0["role"]?.stringValue
            return role == "system" || role == "developer"
        }
        var reply = "I received \(messages.count) message\(messages.count == 1 ? "" : "s")"
        if let last = body.flatMap(lastUserText) {
            let excerpt = last.count > 120 ? String(last.prefix(120)) + "…" : last
            reply += ". You said: \"\(excerpt)\""
        }
        res.json(200, [
            "reply": .string(reply),
            "received": ["bytes": .int(req.body.count), "messages": .int(messages.count), "system": .bool(hasSystem)],
            "body": body ?? .string(req.bodyText),
        ])
    }

    /// Text of the newest user message (string content or text blocks), used to seed the reply.
    private static func lastUserText(_ body: JSON) -> String? {
        guard let message = body["messages"]?.arrayValue?.last(where: { $0["role"]?.stringValue == "user" }) else {
            return nil
        }
        if let text = message["content"]?.stringValue { return text }
        let blocks = message["content"]?.arrayValue ?? []
        let texts = blocks.compactMap { $0["text"]?.stringValue }
        return texts.isEmpty ? nil : texts.joined(separator: "\n")
    }
}
