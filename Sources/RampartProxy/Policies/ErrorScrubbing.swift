import RampartHTTP
import RampartLoop
import RampartTransport

/// Error scrubbing (SPEC §4, `scrub_errors`, default true): an upstream 5xx never reaches the
/// client, whose stack traces and internal host names stay inside. The client gets Rampart's 502
/// `UPSTREAM_ERROR`; the start of the upstream's body goes to the log with the request id, so
/// whoever debugs it still has it.
struct ErrorScrubbing: RouteFilter {
    var phases: FilterPhases { .response }
    package func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? {
        head.status >= 500 ? ErrorScrubber(ctx, status: head.status, tail: tail) : nil
    }
}

final class ErrorScrubber: ResponseFilter {
    static let logBytes = 2048
    private let ctx: RequestContext
    private let status: Int
    private unowned let tail: ResponseTail
    private var kept: [UInt8] = []
    private var done = false

    package init(_ ctx: RequestContext, status: Int, tail: ResponseTail) { self.ctx = ctx; self.status = status; self.tail = tail }

    package func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict { .intercept }

    /// Keeps the start of the body for the log and drops the rest.
    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        let room = Self.logBytes - kept.count
        if room > 0 { kept.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room))) }
        if kept.count >= Self.logBytes { answer() }
    }

    func interceptedBodyEnded(_ failure: UpstreamFailure?) { answer() }
    package func completed(_ ending: ExchangeEnding) {}

    private func answer() {
        guard !done else { return }
        done = true
        let server = ctx.server, upstream = ctx.plan.upstream.name
        server.accessLog.event(.error, "upstream error body scrubbed", [
            ("request_id", JSONText.quote(ctx.requestID)), ("upstream", JSONText.quote(upstream)), ("status", String(status)),
            ("body", JSONText.quote(String(decoding: kept, as: UTF8.self))), ("truncated", kept.count >= Self.logBytes ? "true" : "false")])
        server.metrics.upstreamError(upstream, kind: "status_5xx")
        tail.replaceResponse(with: .badGateway(), note: "upstream \(status) scrubbed")
    }
}
