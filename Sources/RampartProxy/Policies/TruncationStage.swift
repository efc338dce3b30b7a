import RampartHTTP
import RampartLoop
import RampartTransport
/// Token-budget truncation stage (SPEC §8.1): keeps the system prompt and the newest messages
/// that fit `budget_tokens`, splicing the original bytes so everything else in the JSON is
/// forwarded untouched. The response says what happened in `X-Rampart-Truncated`.
struct TruncationStage: BodyTransform {
    package let truncator: ChatTruncator

    package init(_ config: TruncateConfig) { truncator = ChatTruncator(config) }

    package func transform(_ body: [UInt8], _ ctx: RequestContext) -> Result<[UInt8], GatewayError> {
        switch truncator.truncate(body) {
        case .success(let r):
            if r.dropped > 0 {
                let note = "dropped=\(r.dropped); tokens=\(r.tokensBefore)->\(r.tokensAfter)"
                ctx.responseHeaders.add(literal: "X-Rampart-Truncated", note)
                ctx.truncated = note
                ctx.server.metrics.truncation(route: ctx.route.name, dropped: r.dropped)
            }
            return .success(r.body)
        case .failure(.contextTooLarge(let tokens, let budget)):
            return .failure(GatewayError(status: 413, code: "CONTEXT_TOO_LARGE",
                                         message: "The newest message alone is about \(tokens) tokens; the budget is \(budget)."))
        case .failure(.notJSON(let why)):
            return .failure(GatewayError(status: 400, code: "BAD_REQUEST", message: "The request body must be valid JSON (\(why))."))
        case .failure(.messagesNotArray(let why)):
            return .failure(GatewayError(status: 400, code: "BAD_REQUEST", message: "The request body needs a messages array (\(why))."))
        case .failure(.tooDeep):
            return .failure(GatewayError(status: 400, code: "BAD_REQUEST", message: "The JSON is nested too deeply."))
        }
    }
}
