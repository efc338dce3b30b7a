import RampartHTTP
import RampartTransport

/// On an AI route (`format`), a stream that ends cleanly but without the provider's terminal event
/// (`message_stop`, `data: [DONE]`) gets the format's error event before it closes: the official
/// SDKs would otherwise return the partial text as a finished answer. A stream cut by a failure
/// already gets one from the exchange. Save routes do the same inside `ConfirmedSave`, which
/// holds the end of their streams.
struct StreamCompletion: RouteFilter {
    var phases: FilterPhases { .response }
    let format: AIFormat

    func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? {
        guard (200..<300).contains(head.status),
              head.headers["Content-Type"]?.lowercased().hasPrefix("text/event-stream") == true else { return nil }
        return StreamCompletionCheck(format: format, ctx: ctx, tail: tail)
    }

    /// Whether `event` ends a stream of `format` for its client: the terminal event, or the
    /// provider's own error (the SDK raises on it, so Rampart adds nothing after it).
    static func isFinal(_ event: SSEEvent, anthropic: Bool) -> Bool {
        if anthropic {
            return event.event == "message_stop" || event.event == "error"
                || (event.event == "message" && event.data.contains("\"message_stop\""))
        }
        // Chat Completions end with `[DONE]`; the Responses API with one of its final events.
        return event.data == "[DONE]" || event.data.hasPrefix("{\"error\"")
            || event.event == "response.completed" || event.event == "response.failed" || event.event == "response.incomplete"
            || event.event == "error"
    }

    /// Sends the error event for a stream that ended short, counts it, and answers the access
    /// line's `error`.
    static func reportIncomplete(_ ctx: RequestContext, tail: ResponseTail?) -> String {
        let server = ctx.server
        server.metrics.streamError()
        server.metrics.upstreamError(ctx.plan.upstream.name, kind: "stream_incomplete")
        tail?.appendToResponse(StreamErrorEvent.bytes(.upstreamIncomplete(), dialect: StreamErrorEvent.dialect(of: ctx.route),
                                                      requestID: ctx.requestID))
        return "upstream_incomplete"
    }
}

final class StreamCompletionCheck: ResponseFilter {
    private let anthropic: Bool
    private let ctx: RequestContext
    private weak var tail: ResponseTail?
    private var sawFinal = false

    init(format: AIFormat, ctx: RequestContext, tail: ResponseTail) {
        anthropic = format == .anthropic; self.ctx = ctx; self.tail = tail
    }

    func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict { .pass }
    func responseBody(_ bytes: UnsafeRawBufferPointer) {}
    var wantsEvents: Bool { true }
    /// Final events are small; a bigger one is skipped by the parser, never buffered for this.
    var maxEventBytes: Int { 64 << 10 }
    func responseEvent(_ event: SSEEvent) {
        if !sawFinal && StreamCompletion.isFinal(event, anthropic: anthropic) { sawFinal = true }
    }
    func completed(_ ending: ExchangeEnding) {}

    var holdsEnd: Bool { true }
    func responseEnded(clean: Bool, cutError: String?) {
        let error = clean && !sawFinal ? StreamCompletion.reportIncomplete(ctx, tail: tail) : cutError
        tail?.finishResponse(error: error)
    }
}
