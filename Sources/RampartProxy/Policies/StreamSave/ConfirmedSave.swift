import Foundation
import RampartLoop
import RampartTransport
import RampartHTTP

/// What a filter that holds the end of a response needs from the exchange: the response itself
/// to add bytes to and end, and the end of the exchange (its log line and counters).
protocol ResponseTail: AnyObject {
    /// Adds bytes to the body the client receives (no-op once the client has gone).
    func appendToResponse(_ bytes: [UInt8])
    /// Ends the response cleanly, then the exchange; `error` is what the access log records.
    func finishResponse(error: String?)
    /// Answers with Rampart's own error instead of the upstream's response (not started yet);
    /// `note` is what the access log records as the upstream's part.
    func replaceResponse(with error: GatewayError, note: String)
    /// Sends the upstream's response it intercepted after all, whole (a provider's JSON error).
    func releaseResponse(_ head: HTTPResponseHead, body: [UInt8])
    /// The request body as sent upstream, for templates (`{body.chapterId}`); nil if not kept.
    var requestBodyForTemplates: [UInt8]? { get }
}

/// Confirmed saves (SPEC §8.2) as a response filter: it taps the SSE stream as it passes to the
/// client, byte for byte; when the stream ends it holds the end of the response, saves the text to
/// the app (retried with backoff, bounded by the route's deadlines), and closes the stream with
/// `event: save_status`. What cannot be confirmed is journaled durably first (fsync'd file or
/// Redis), and the event carries its `save_id`. One instance per request.
/// On a `stream_save` route, for a 2xx event stream.
struct ConfirmedSaving: RouteFilter {
    var phases: FilterPhases { .response }
    package let config: StreamSaveConfig
    /// `validate`, compiled once per config.
    let check: OutputCheck?
    package init(config: StreamSaveConfig) { self.config = config; check = config.validate.map(OutputCheck.init) }
    package func response(for ctx: RequestContext, head: HTTPResponseHead, tail: ResponseTail) -> ResponseFilter? {
        guard (200..<300).contains(head.status), let type = head.headers["Content-Type"]?.lowercased() else { return nil }
        if type.hasPrefix("text/event-stream") { return ConfirmedSave(config, check: check, ctx: ctx, tail: tail) }
        if type.contains("json") { return ConfirmedSave(config, check: check, ctx: ctx, tail: tail, whole: head) }
        return nil
    }
}

final class ConfirmedSave: ResponseFilter {
    private let config: StreamSaveConfig
    private let check: OutputCheck?
    private let ctx: RequestContext
    private var tap: StreamSaveTap
    /// A JSON answer (no stream to add `save_status` to): held whole, head and body, until the
    /// save's outcome is known, then sent with `X-Rampart-Save`. Nil for an event stream.
    private let whole: HTTPResponseHead?
    private var held: [UInt8] = []
    private var heldTooMuch = false
    /// What is saved: the stream's text, or the JSON answer's.
    private var content = ""
    private var saving = false
    private var attempts = 0
    private var url = ""
    private var body: [UInt8] = []
    private var call: UpstreamCall?
    private var backoffTimer: LoopTimer?
    private var waitTimer: LoopTimer?
    private var pendingSent = false
    private var verifiedMismatch = false
    private var finished = false
    /// The outcome is being journaled: nothing else may be journaled or told meanwhile.
    private var journaling = false
    /// The client heard "pending" (its journal entry was written, or failed to be).
    private var pendingAnswered = false
    /// An outcome that came while the pending entry was still being written: told instead.
    private var outcomeWhilePending: (fields: [String], outcome: String)?
    private var cutError: String?
    /// What `sanitize` changed in the stored content, for `save_status` (nil: sanitize is off).
    private var sanitized: Int?
    /// The client's SDK heard the end of the stream: its terminal event or the provider's error.
    private var sawFinal = false
    private weak var tail: ResponseTail?
    /// The outcome for the access log's `save` field (a JSON object), once known.
    private(set) var accessLogSave: String?

    package init(_ config: StreamSaveConfig, check: OutputCheck? = nil, ctx: RequestContext, tail: ResponseTail, whole: HTTPResponseHead? = nil) {
        self.config = config; self.check = check; self.ctx = ctx; self.tail = tail; self.whole = whole
        self.tap = StreamSaveTap(format: config.format)
    }

    var holdsEnd: Bool { true }

    private var server: ServerContext { ctx.server }
    private var requestID: String { ctx.requestID }
    /// With `continue_on_disconnect`, the save goes on after the client left.
    var continuesWithoutClient: Bool { config.continueOnDisconnect }

    package func responseHead(status: Int, headers: HTTPHeaders) -> HeadVerdict { whole == nil ? .pass : .intercept }
    func responseBody(_ bytes: UnsafeRawBufferPointer) {
        guard whole != nil, !heldTooMuch else { return }
        if held.count + bytes.count > Self.maxHeldBytes { heldTooMuch = true; held = [] } else { held.append(contentsOf: bytes) }
    }
    /// The largest JSON answer held for its save; a bigger one is refused (502) rather than sent unsaved.
    static let maxHeldBytes = 16 << 20
    var wantsEvents: Bool { whole == nil }
    /// Generated text may come as one large event; it is saved whole (up to SSEParser's own bound).
    var maxEventBytes: Int { 16 << 20 }
    func responseEvent(_ event: SSEEvent) {
        tap.take(event)
        if tap.needsTerminalEvent && StreamCompletion.isFinal(event, anthropic: config.format == .anthropic) { sawFinal = true }
    }
    package func completed(_ ending: ExchangeEnding) {}

    /// The upstream's body ended (`clean`) or was cut (`cutError`): save, or journal what streamed.
    package func responseEnded(clean: Bool, cutError: String?) {
        self.cutError = cutError
        content = tap.content
        let template = prepare()
        guard clean && (!tap.needsTerminalEvent || tap.sawTerminal) else {
            // A short stream must fail in the client's SDK too, not pass as the whole answer.
            if clean && !sawFinal { self.cutError = StreamCompletion.reportIncomplete(ctx, tail: tail) }
            journalAndReport(reason: "upstream_incomplete")
            return
        }
        save(template)
    }

    /// A JSON answer ended (SPEC §11.13): its text is saved as a stream's would be. A failed or
    /// oversized answer is Rampart's 502; the drain deadline during the save sends it as pending.
    func interceptedBodyEnded(_ failure: UpstreamFailure?) {
        if saving { sendPending(); return }
        guard failure == nil, !heldTooMuch else {
            let note = heldTooMuch ? "answer too large to hold for its save" : "upstream failed before the save"
            tail?.replaceResponse(with: failure?.isTimeout == true ? .gatewayTimeout() : .badGateway(), note: note)
            return
        }
        // Not an answer with generated text (a model list, a token count, an error shape): it
        // passes as it came, and nothing is saved over the app's record.
        guard let text = StreamSaveTap.content(ofJSON: held, format: config.format), !text.isEmpty else {
            finished = true
            if let whole { tail?.releaseResponse(whole, body: held) }
            return
        }
        content = text
        save(prepare())
    }

    /// The save's URL and body, from the content and the request.
    private func prepare() -> SaveTemplate {
        var template = makeTemplate()
        (template.content, sanitized) = config.sanitize.stored(content, route: ctx.route.name, metrics: server.metrics)   // saved and replayed
        url = template.renderURL(config.save.url)
        let saveBody = config.save.body.map { template.renderBody($0) } ?? .object([("content", .string(template.content))])
        body = Array(saveBody.jsonText().utf8)
        return template
    }

    private func save(_ template: SaveTemplate) {
        saving = true
        if let details = check?.failures(content) {   // kept for ops to review, never saved as is
            journalAndReport(reason: "invalid_output", details: details)
            return
        }
        waitTimer = server.loop.schedule(afterMs: config.wait.milliseconds) { [self] in sendPending() }
        if config.mode == .verify, let verify = config.verify { verifyThenSave(verify, template: template) } else { attemptSave() }
    }

    /// Shutdown's deadline: what is still running is journaled as pending, resumed at the next start.
    package func drainDeadlineReached() { sendPending() }

    // MARK: Saving

    /// A save or verify request to `target`, forwarding the user's credentials so the app can
    /// authorize it as the user's own write.
    private func upstreamRequest(_ target: SaveTarget, method: String, path: String, body: Int?) -> UpstreamRequest {
        var headers = HTTPHeaders()
        headers.add("Host", target.host(clientHost: ctx.head.headers["Host"]))
        if body != nil { headers.add("Content-Type", "application/json") }
        for name in ["Authorization", "Cookie"] { if let v = ctx.head.headers[name] { headers.add(name, v) } }
        if body != nil { headers.add("Idempotency-Key", requestID) }
        headers.add("X-Request-Id", requestID)
        return target.request(method: method, path: path, headers: headers, bodyLength: body)
    }

    /// Verify mode: the app may have saved the text itself. GET its copy; when the text at
    /// `verify.pointer` hashes the same as what streamed, nothing is saved; otherwise save as usual.
    /// A verify that fails or times out (status 0) counts as a mismatch: the text is saved.
    private func verifyThenSave(_ verify: StreamSaveConfig.Verify, template: SaveTemplate) {
        let expected = SHA256.hex(Array(template.content.utf8))   // what is stored: sanitized
        let collector = BodyCollector(limit: 8 << 20) { [self] status, body in
            call = nil
            guard !finished else { return }
            if (200..<300).contains(status), let doc = try? JSONValue.parse(body), case .string(let stored)? = doc.at(pointer: verify.pointer),
               SHA256.hex(Array(stored.utf8)) == expected {
                server.metrics.saveOutcome("verified", route: ctx.route.name)
                record("verified")
                report(["\"type\":\"save_status\"", "\"success\":true", "\"verified\":true", "\"saved\":false", "\"attempts\":0"], outcome: "ok")
                return
            }
            verifiedMismatch = true
            attemptSave()
        }
        guard let target = ctx.plan.verifyTarget else { collector.upstreamFinished(.connectFailed("no verify upstream")); return }
        let request = upstreamRequest(target, method: "GET", path: template.renderURL(verify.url), body: nil)
        call = target.start(request, body: nil, handler: collector, transport: server.transport, loop: server.loop)
    }

    /// One attempt; a save that hangs fails at the save upstream's deadlines.
    private func attemptSave() {
        attempts += 1
        let receiver = StatusOnly({ _ in }, finished: { [self] ok in attemptFinished(ok) })
        guard let target = ctx.plan.saveTarget else { receiver.upstreamFinished(.connectFailed("no save upstream")); return }
        let request = upstreamRequest(target, method: config.save.method, path: url, body: body.count)
        call = target.start(request, body: body, handler: receiver, transport: server.transport, loop: server.loop)
    }

    private func attemptFinished(_ ok: Bool) {
        call = nil
        guard !finished else { return }
        if ok {
            server.metrics.saveOutcome("ok", route: ctx.route.name)
            record("saved")
            if pendingSent { server.state.journal.remove(requestID, on: server.loop) }   // it was journaled as pending
            var fields = ["\"type\":\"save_status\"", "\"success\":true", "\"attempts\":\(attempts)"]
            if verifiedMismatch { fields += ["\"verified\":false", "\"saved\":true"] }
            report(fields, outcome: "ok")
            return
        }
        if attempts < config.save.attempts {
            server.metrics.saveOutcome("retried", route: ctx.route.name)
            let delay = config.save.backoff.milliseconds << min(attempts - 1, 10)
            backoffTimer = server.loop.schedule(afterMs: delay) { [self] in backoffTimer = nil; attemptSave() }
            return
        }
        journalAndReport(reason: "save_failed")
    }

    // MARK: Ending

    /// The durable journal write happens before the client hears the id: `save_status` waits for
    /// the journal's thread to commit it (the `wait` timer stops meanwhile: the outcome is known).
    /// Content that fails `validate` is journaled for ops to review (`invalid_output`): the client
    /// gets the details but no retry URL, since retrying would store the same output unchecked.
    private func journalAndReport(reason: String, details: [ValidationDetail] = []) {
        server.loop.cancel(waitTimer); waitTimer = nil
        journaling = true
        let detailsJSON = JSONText.array(details.map {
            JSONText.object([("field", JSONText.quote($0.field)), ("message", JSONText.quote($0.message))]) })
        journal(reason: reason, details: details.isEmpty ? nil : detailsJSON) { [self] ok in
            reportJournaled(ok, reason: reason, detailsJSON: detailsJSON)
        }
    }

    private func reportJournaled(_ ok: Bool, reason: String, detailsJSON: String) {
        let invalid = reason == "invalid_output"
        server.metrics.saveOutcome(!ok ? "journal_failed" : invalid ? "invalid_output" : "journaled", route: ctx.route.name)
        record(ok ? "journaled" : "journal_failed", reason: reason)
        server.accessLog.event(.error, "stream save not confirmed", [
            ("request_id", JSONText.quote(requestID)), ("route", JSONText.quote(ctx.route.name)),
            ("reason", JSONText.quote(reason)), ("journaled", ok ? "true" : "false")])
        guard ok else {
            // Nothing was stored, so there is no id to retry with: the client is told so, and it
            // still holds every byte it was streamed.
            report(["\"type\":\"save_status\"", "\"success\":false", "\"attempts\":\(attempts)", "\"reason\":\"journal_failed\"",
                    "\"save_reason\":\(JSONText.quote(reason))"], outcome: "journal_failed")
            return
        }
        var fields = ["\"type\":\"save_status\"", "\"success\":false", "\"attempts\":\(attempts)", "\"save_id\":\(JSONText.quote(requestID))"]
        if !invalid { fields.append("\"retry_url\":\(JSONText.quote("/_rampart/saves/\(requestID)/retry"))") }
        if reason != "save_failed" { fields.append("\"reason\":\(JSONText.quote(reason))") }
        if invalid { fields.append("\"details\":" + detailsJSON) }
        report(fields, outcome: (invalid ? "invalid_output" : "failed") + "; save_id=\(requestID)")
    }

    /// Appends this save to the journal (a later line with the same id supersedes an earlier one);
    /// `done` runs on this loop once it is durable (or could not be stored).
    private func journal(reason: String, details: String? = nil, done: @escaping (Bool) -> Void) {
        server.state.journal.append(SaveJournalEntry(
            id: requestID, identity: ctx.identityKey, user: ctx.user, route: ctx.route.name, reason: reason, method: config.save.method,
            url: url, body: String(decoding: body, as: UTF8.self), content: content, upstream: ctx.route.saveUpstream, details: details),
            now: server.state.wallNow(), on: server.loop, done: done)
    }

    /// `wait` ran out (or the drain deadline came): tell the client the save is pending and let it
    /// go; the save goes on. The content is journaled as pending first, so it survives a crash.
    private func sendPending() {
        waitTimer = nil
        guard !finished, !pendingSent, !journaling else { return }
        pendingSent = true
        // The id is given only when the journal holds the save: it is what a retry or ops look up.
        record("pending")
        journal(reason: "pending") { [self] journaled in
            pendingAnswered = true
            // The save ended while its pending entry was being written: the client hears how.
            if let (fields, outcome) = outcomeWhilePending { tell(fields, outcome: outcome); return }
            var fields = ["\"type\":\"save_status\"", "\"success\":null", "\"pending\":true"]
            if journaled { fields.append("\"save_id\":\(JSONText.quote(requestID))") }
            tell(fields, outcome: journaled ? "pending; save_id=\(requestID)" : "pending")
        }
    }

    /// Tells the client: the last event of a stream, or `X-Rampart-Save` on a JSON answer (`ok`,
    /// `failed; save_id=…`, `invalid_output; save_id=…`).
    private func report(_ fields: [String], outcome: String) {
        server.loop.cancel(waitTimer); waitTimer = nil
        finished = true
        if pendingSent && !pendingAnswered { outcomeWhilePending = (fields, outcome); return }
        guard !pendingSent else { return }   // the client already heard; the exchange has ended
        tell(fields, outcome: outcome)
    }

    /// The last event of the stream, or the held JSON answer with its `X-Rampart-Save`.
    private func tell(_ fields: [String], outcome: String) {
        if let whole { release(whole, outcome: outcome); return }
        tail?.appendToResponse(event(fields))
        tail?.finishResponse(error: cutError)
    }

    private func release(_ head: HTTPResponseHead, outcome: String) {
        var head = head
        head.headers.set("X-Rampart-Save", outcome)
        tail?.releaseResponse(head, body: held)
    }

    private func record(_ result: String, reason: String? = nil) {
        accessLogSave = JSONText.object([("result", JSONText.quote(result)), ("attempts", String(attempts)),
                                     ("reason", reason.map(JSONText.quote) ?? "null"), ("save_id", JSONText.quote(requestID))])
    }

    /// The final event, with the route's `echo` fields.
    private func event(_ fields: [String]) -> [UInt8] {
        var all = fields
        if let sanitized { all.append("\"sanitized\":\(sanitized)") }
        let template = makeTemplate()
        for e in config.echo { all.append("\(JSONText.quote(e.key)):\(JSONText.quote(template.render(e.template)))") }
        return SSEEncoder.encode(event: "save_status", data: "{" + all.joined(separator: ",") + "}")
    }

    private func makeTemplate() -> SaveTemplate {
        let head = ctx.head
        return SaveTemplate(content: content, params: ctx.params,
                            requestBody: tail?.requestBodyForTemplates.flatMap { try? JSONValue.parse($0) },
                            query: head.query, headers: { head.headers[$0] }, user: ctx.user, requestID: requestID)
    }
}

/// Collects a small response body (verify mode reads the app's copy).
final class BodyCollector: UpstreamResponseHandler {
    private var status = 0
    private var body: [UInt8] = []
    private let limit: Int
    private let done: (Int, [UInt8]) -> Void
    package init(limit: Int, _ done: @escaping (Int, [UInt8]) -> Void) { self.limit = limit; self.done = done }
    package func upstreamHead(_ head: consuming HTTPResponseHead) { status = head.status }
    package func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        if body.count + bytes.count <= limit { body.append(contentsOf: bytes) }
        return .proceed
    }
    package func resumeRequestBody() {}
    package func upstreamFinished(_ failure: UpstreamFailure?) { done(failure == nil ? status : 0, body) }
}
