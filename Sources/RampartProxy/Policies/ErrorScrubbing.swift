import RampartHTTP
import RampartLoop
import RampartTransport

/// Error scrubbing (SPEC §4, `scrub_errors`, default true): an upstream 5xx never reaches the
/// client, whose stack traces and internal host names stay inside. The client gets Rampart's 502
/// `UPSTREAM_ERROR`; the start of the upstream's body goes to the log with the request id, so
/// whoever debugs it still has it.
/// On an AI route (SPEC §11.1) a provider's JSON error passes as it is, status, `Retry-After` and
/// all: the SDKs back off on an `overloaded_error` and its wait. Non-JSON bodies and anything
/// that carries a stack trace are still replaced.
struct ErrorScrubbing: RouteFilter {
    var phases: FilterPhases { .response }
    var keepProviderErrors = false
    package func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? {
        head.status >= 500 ? ErrorScrubber(ctx, head: head, keepProviderErrors: keepProviderErrors, tail: tail) : nil
    }
}

final class ErrorScrubber: ResponseFilter {
    static let logBytes = 2048
    /// The largest provider error passed on; a bigger body is no error message and is replaced.
    static let providerErrorBytes = 64 << 10
    private let ctx: RequestContext
    private let head: HTTPResponseHead
    private let keepProviderErrors: Bool
    private unowned let tail: ResponseTail
    private var kept: [UInt8] = []
    private var done = false

    package init(_ ctx: RequestContext, head: HTTPResponseHead, keepProviderErrors: Bool, tail: ResponseTail) {
        self.ctx = ctx; self.head = head; self.keepProviderErrors = keepProviderErrors; self.tail = tail
    }

    package func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict { .intercept }

    /// Keeps the start of the body for the log (or the whole of a provider's error) and drops the rest.
    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        let limit = keepProviderErrors ? Self.providerErrorBytes : Self.logBytes
        let room = limit + 1 - kept.count
        if room > 0 { kept.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room))) }
        if kept.count > limit { scrub() }
    }

    func interceptedBodyEnded(_ failure: UpstreamFailure?) {
        if failure == nil && keepProviderErrors && Self.isProviderError(kept) {
            guard !done else { return }
            done = true
            tail.releaseResponse(head, body: kept)
        } else {
            scrub()
        }
    }
    package func completed(_ ending: ExchangeEnding) {}

    /// A JSON object with no stack trace in it: what providers send, what SDKs parse.
    static func isProviderError(_ body: [UInt8]) -> Bool {
        guard case .object? = try? JSONValue.parse(body) else { return false }
        let text = String(decoding: body, as: UTF8.self)
        return !stackTraceMarks.contains { text.contains($0) }
    }
    /// What Python, Java, .NET, Go, Node and Ruby traces look like once in a JSON string.
    static let stackTraceMarks = ["Traceback (most recent call last)", "\\n    at ", "\\n\\tat ", "Exception in thread",
                                  "goroutine ", "panic: ", ".py\\\", line ", ".java:", ".go:", ".rb:", ".js:", ".ts:", ".cs:line "]

    private func scrub() {
        guard !done else { return }
        done = true
        let server = ctx.server, upstream = ctx.plan.upstream.name
        let logged = kept.prefix(Self.logBytes)
        server.accessLog.event(.error, "upstream error body scrubbed", [
            ("request_id", JSONText.quote(ctx.requestID)), ("upstream", JSONText.quote(upstream)), ("status", String(head.status)),
            ("body", JSONText.quote(String(decoding: logged, as: UTF8.self))), ("truncated", kept.count > Self.logBytes ? "true" : "false")])
        server.metrics.upstreamError(upstream, kind: "status_5xx")
        tail.replaceResponse(with: .badGateway(), note: "upstream \(head.status) scrubbed")
    }
}
