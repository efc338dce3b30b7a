import RampartHTTP
import RampartLoop

/// One upstream call made outside a proxied exchange (a save, a verify GET, a replay) wrapped in
/// the route's deadlines, so a hung app can never hold one forever: first byte (counted from the
/// end of the request body), idle gap between body bytes, total. Connect is the transport's own.
/// A deadline cancels the call and reports `.timeout(kind)` to the handler like any failure.
package final class DeadlineCall: UpstreamCall, UpstreamResponseHandler {
    private let inner: UpstreamResponseHandler
    private let loop: EventLoop
    private let deadlines: CallDeadlines
    private var call: UpstreamCall?
    private var timer: LoopTimer?
    private let started: UInt64
    private var lastActivity: UInt64
    private var awaitingHead = true
    private var done = false

    private init(inner: UpstreamResponseHandler, loop: EventLoop, deadlines: CallDeadlines) {
        self.inner = inner; self.loop = loop; self.deadlines = deadlines
        started = loop.now; lastActivity = started
    }

    package static func start(_ request: UpstreamRequest, handler: UpstreamResponseHandler, transport: UpstreamTransport,
                      loop: EventLoop, deadlines: CallDeadlines) -> DeadlineCall {
        let c = DeadlineCall(inner: handler, loop: loop, deadlines: deadlines)
        c.call = transport.start(request, handler: c)
        if !c.done { c.arm() }
        return c
    }

    private var deadline: UInt64 {
        min(started &+ deadlines.totalNs, lastActivity &+ (awaitingHead ? deadlines.firstByteNs : deadlines.idleNs))
    }

    /// One timer; body bytes only move `lastActivity`, and an early firing re-arms (as `UpstreamAttempts`
    /// does). The head re-arms at once: its idle deadline may come before the first_byte one.
    private func arm() {
        if timer == nil { timer = loop.makeTimer { [self] in fired() } }
        loop.arm(timer!, at: deadline)
    }

    private func fired() {
        guard !done else { return }
        let now = loop.now
        if now < deadline { arm(); return }
        let kind = now >= started &+ deadlines.totalNs ? "total" : awaitingHead ? "first_byte" : "idle"
        finish()
        call?.cancel(); call = nil
        inner.upstreamFinished(.timeout(kind))
    }

    private func finish() {
        done = true
        loop.cancel(timer); timer = nil
    }

    // MARK: UpstreamResponseHandler (from the transport)

    package func upstreamHead(_ head: consuming HTTPResponseHead) {
        guard !done else { return }
        awaitingHead = false
        lastActivity = loop.now
        arm()   // idle replaces first_byte, and may end sooner
        inner.upstreamHead(head)
    }

    package func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Flow {
        guard !done else { return .proceed }
        lastActivity = loop.now
        return inner.upstreamBody(bytes)
    }

    package func resumeRequestBody() { if !done { inner.resumeRequestBody() } }

    package func upstreamFinished(_ failure: UpstreamFailure?) {
        guard !done else { return }
        finish()
        call = nil
        inner.upstreamFinished(failure)
    }

    // MARK: UpstreamCall (from the caller)

    package func appendBody(_ bytes: UnsafeRawBufferPointer) -> Flow { call?.appendBody(bytes) ?? .proceed }
    package func endBody() { lastActivity = loop.now; call?.endBody() }
    package func resumeResponse() { call?.resumeResponse() }
    package func cancel() { finish(); call?.cancel(); call = nil }
}
