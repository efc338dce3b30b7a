import Foundation
import RampartHTTP

/// Confirmed saves (SPEC §8.2) in the request's story: the stream has reached the client byte for
/// byte; now the accumulated text is saved to the app, retried with backoff, and the client gets
/// a final `event: save_status` before the stream closes. What cannot be confirmed is journaled
/// durably first (fsync'd file or Redis), and the event carries its `save_id`.
extension ProxyExchange {
    func finishStreamSave(clean: Bool) {
        guard let ss = route.streamSave, let tap = saveTap else { return }
        stage = .saving
        call?.cancel(); call = nil
        disarmTimeout()
        let template = makeTemplate(content: tap.content)
        saveURL = template.renderURL(ss.save.url)
        let body = ss.save.body.map { template.renderBody($0) } ?? .object([("content", .string(tap.content))])
        saveBody = Array(body.jsonText().utf8)
        guard clean && (!tap.needsTerminalEvent || tap.sawTerminal) else {
            journalAndReport(reason: "upstream_incomplete")
            return
        }
        saveWaitTimer = context.loop.schedule(afterMs: ss.wait.milliseconds) { [self] in sendPending() }
        if ss.mode == .verify, let verify = ss.verify { verifyThenSave(verify, template: template, content: tap.content) } else { attemptSave() }
    }

    /// Verify mode: the app may have saved the text itself. GET its copy; when the text at
    /// `verify.pointer` hashes the same as what streamed, nothing is saved; otherwise save as usual.
    private func verifyThenSave(_ verify: StreamSaveConfig.Verify, template: SaveTemplate, content: String) {
        var headers = HTTPHeaders()
        headers.add("Host", head.headers["Host"] ?? upstream.authority)
        for name in ["Authorization", "Cookie"] { if let v = head.headers[name] { headers.add(name, v) } }
        headers.add("X-Request-Id", requestID)
        let request = UpstreamRequest(upstream: upstream, method: "GET", target: upstream.basePath + template.renderURL(verify.url),
                                      headers: headers, body: .none, connectTimeoutMs: route.timeouts.connect.milliseconds)
        let expected = SHA256.hex(Array(content.utf8))
        // A verify that fails or times out (status 0) counts as a mismatch: the text is saved.
        let collector = BodyCollector(limit: 8 << 20) { [self] status, body in
            saveCall = nil
            guard stage == .saving else { return }
            if (200..<300).contains(status), let doc = try? JSONValue.parse(body), case .string(let stored)? = doc.at(pointer: verify.pointer),
               SHA256.hex(Array(stored.utf8)) == expected {
                context.metrics.saveOutcome("verified")
                recordSave("verified")
                report(["\"type\":\"save_status\"", "\"success\":true", "\"verified\":true", "\"saved\":false", "\"attempts\":0"])
                return
            }
            verifiedMismatch = true
            attemptSave()
        }
        let call = DeadlineCall.start(request, handler: collector, transport: context.transport, loop: context.loop, deadlines: ctx.plan.deadlines)
        saveCall = call
        call.endBody()
    }

    private func makeTemplate(content: String) -> SaveTemplate {
        let head = self.head
        return SaveTemplate(content: content, params: ctx.params,
                            requestBody: replayBody.flatMap { try? JSONValue.parse($0) },
                            query: head.query, headers: { head.headers[$0] }, user: ctx.user, requestID: requestID)
    }

    private func attemptSave() {
        guard let ss = route.streamSave else { return }
        saveAttempts += 1
        var headers = HTTPHeaders()
        headers.add("Host", head.headers["Host"] ?? upstream.authority)
        headers.add("Content-Type", "application/json")
        for name in ["Authorization", "Cookie"] { if let v = head.headers[name] { headers.add(name, v) } }
        headers.add("Idempotency-Key", requestID)
        headers.add("X-Request-Id", requestID)
        let request = UpstreamRequest(upstream: upstream, method: ss.save.method, target: upstream.basePath + saveURL,
                                      headers: headers, body: .known(saveBody.count), connectTimeoutMs: route.timeouts.connect.milliseconds)
        let receiver = StatusOnly({ _ in }, finished: { [self] ok in saveAttemptFinished(ok) })
        // A save that hangs fails its attempt at the route's deadlines.
        let call = DeadlineCall.start(request, handler: receiver, transport: context.transport, loop: context.loop, deadlines: ctx.plan.deadlines)
        saveCall = call
        _ = saveBody.withUnsafeBytes { call.appendBody($0) }
        call.endBody()
    }

    private func saveAttemptFinished(_ ok: Bool) {
        context.loop.cancel(saveTimer); saveTimer = nil
        saveCall = nil
        guard stage == .saving, let ss = route.streamSave else { return }
        if ok {
            context.metrics.saveOutcome("ok")
            recordSave("saved")
            if pendingSent { context.state.journal.remove(requestID) }   // it was journaled as pending
            var fields = ["\"type\":\"save_status\"", "\"success\":true", "\"attempts\":\(saveAttempts)"]
            if verifiedMismatch { fields += ["\"verified\":false", "\"saved\":true"] }
            report(fields)
            return
        }
        if saveAttempts < ss.save.attempts {
            context.metrics.saveOutcome("retried")
            let delay = ss.save.backoff.milliseconds << min(saveAttempts - 1, 10)
            saveTimer = context.loop.schedule(afterMs: delay) { [self] in attemptSave() }
            return
        }
        journalAndReport(reason: "save_failed")
    }

    /// The durable journal write happens before the client hears the id.
    private func journalAndReport(reason: String) {
        let ok = journal(reason: reason)
        context.metrics.saveOutcome(ok ? "journaled" : "journal_failed")
        recordSave(ok ? "journaled" : "journal_failed", reason: reason)
        context.accessLog.event(.error, "stream save not confirmed", [
            ("request_id", JSONText.quote(requestID)), ("route", JSONText.quote(route.name)),
            ("reason", JSONText.quote(reason)), ("journaled", ok ? "true" : "false")])
        var fields = ["\"type\":\"save_status\"", "\"success\":false", "\"attempts\":\(saveAttempts)",
                      "\"save_id\":\(JSONText.quote(requestID))", "\"retry_url\":\(JSONText.quote("/_rampart/saves/\(requestID)/retry"))"]
        if reason == "upstream_incomplete" { fields.append("\"reason\":\"upstream_incomplete\"") }
        report(fields)
    }

    /// Appends this save to the journal (a later line with the same id supersedes an earlier one).
    private func journal(reason: String) -> Bool {
        guard let ss = route.streamSave else { return false }
        return context.state.journal.append(SaveJournalEntry(
            id: requestID, identity: ctx.identityKey, user: ctx.user, route: route.name, reason: reason, method: ss.save.method, url: saveURL,
            body: String(decoding: saveBody, as: UTF8.self), content: saveTap?.content ?? ""), now: Date().timeIntervalSince1970)
    }

    /// `wait` ran out: tell the client the save is pending and let it go; the save goes on.
    func sendPending() {
        saveWaitTimer = nil
        guard stage == .saving, !pendingSent else { return }
        pendingSent = true
        // The client is told `save_id` now, so the content must survive a crash: journal it as
        // pending (resumed at start); a later success removes it.
        _ = journal(reason: "pending")
        recordSave("pending")
        sendEvent(["\"type\":\"save_status\"", "\"success\":null", "\"pending\":true", "\"save_id\":\(JSONText.quote(requestID))"])
        complete(status: upstreamStatus ?? 200, error: cutError)
    }

    /// The access log's `save` field: what became of the content, after how many attempts.
    private func recordSave(_ result: String, reason: String? = nil) {
        saveResult = JSONText.object([("result", JSONText.quote(result)), ("attempts", String(saveAttempts)),
                                      ("reason", reason.map(JSONText.quote) ?? "null"), ("save_id", JSONText.quote(requestID))])
    }

    private func report(_ fields: [String]) {
        context.loop.cancel(saveWaitTimer); saveWaitTimer = nil
        stage = .done
        if !pendingSent { sendEvent(fields) }
        complete(status: upstreamStatus ?? 200, error: cutError ?? (clientGone ? "client_closed" : nil))
    }

    /// The final event, with the route's `echo` fields, then the end of the stream.
    private func sendEvent(_ fields: [String]) {
        var all = fields
        if let ss = route.streamSave, let tap = saveTap {
            let template = makeTemplate(content: tap.content)
            for e in ss.echo { all.append("\(JSONText.quote(e.key)):\(JSONText.quote(template.render(e.template)))") }
        }
        _ = connection.sendBody(SSEEncoder.encode(event: "save_status", data: "{" + all.joined(separator: ",") + "}"))
        connection.endResponse()
    }
}

/// Collects a small response body (verify mode reads the app's copy).
final class BodyCollector: UpstreamResponseHandler {
    private var status = 0
    private var body: [UInt8] = []
    private let limit: Int
    private let done: (Int, [UInt8]) -> Void
    init(limit: Int, _ done: @escaping (Int, [UInt8]) -> Void) { self.limit = limit; self.done = done }
    func upstreamHead(_ head: HTTPResponseHead) { status = head.status }
    func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if body.count + bytes.count <= limit { body.append(contentsOf: bytes) }
        return true
    }
    func upstreamWantsBody() {}
    func upstreamFinished(_ failure: UpstreamFailure?) { done(failure == nil ? status : 0, body) }
}
