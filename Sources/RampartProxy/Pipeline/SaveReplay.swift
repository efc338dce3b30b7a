import Foundation
import RampartLoop
import RampartTransport
import RampartHTTP

/// Replays a journaled save (ops via the admin API, or its user via `retry_url`): the same
/// method, URL and body to the upstream the save was for, with `Idempotency-Key: <save_id>` so the
/// app can tell a replay from a new save. Success (2xx) removes the entry from the journal. That
/// upstream's deadlines bound it (`SaveTarget`), so a hung app fails the replay instead of holding it.
package enum SaveReplay {
    package static func run(id: String, context: ServerContext, _ done: @escaping (_ ok: Bool, _ status: Int) -> Void) {
        context.state.journal.entry(id, on: context.loop) { entry in
            guard let entry else { done(false, 404); return }
            run(id: id, entry: entry, context: context, done)
        }
    }

    /// Replays an entry already read from the journal.
    package static func run(id: String, entry: JSONValue, context: ServerContext, _ done: @escaping (_ ok: Bool, _ status: Int) -> Void) {
        let config = context.active.config
        guard case .string(let routeName)? = entry["route"], case .string(let method)? = entry["method"],
              case .string(let url)? = entry["url"], case .string(let body)? = entry["body"],
              let route = config.routes.first(where: { $0.name == routeName }),
              let target = target(of: entry, route: route, config: config) else { done(false, 404); return }
        var headers = HTTPHeaders()
        headers.add("Host", target.upstream.authority)
        headers.add("Content-Type", "application/json")
        headers.add("Idempotency-Key", id)
        headers.add("X-Request-Id", id)
        let bytes = Array(body.utf8)
        let request = target.request(method: method, path: url, headers: headers, bodyLength: bytes.count)
        var status = 0
        let receiver = StatusOnly { s in status = s } finished: { ok in
            guard ok else { done(false, status); return }
            context.metrics.saveOutcome("replayed", route: routeName)
            // Answered once the entry has left the journal, so a listing right after no longer shows it.
            context.state.journal.remove(id, on: context.loop) { _ in done(true, status) }
        }
        _ = target.start(request, body: bytes, handler: receiver, transport: context.transport, loop: context.loop)
    }

    /// The upstream the entry names (journaled since saves may go elsewhere), else, for an entry
    /// written before that or naming an upstream the config no longer has, where the route saves now.
    static func target(of entry: JSONValue, route: RouteConfig, config: GatewayConfig) -> SaveTarget? {
        if case .string(let name)? = entry["upstream"], let target = SaveTarget(upstream: name, route: route, config: config) { return target }
        return SaveTarget(upstream: route.saveUpstream, route: route, config: config)
    }
}

/// Keeps the status of an exchange and discards its body.
final class StatusOnly: UpstreamResponseHandler {
    private var status = 0
    private let onStatus: (Int) -> Void
    private let finished: (Bool) -> Void
    package init(_ onStatus: @escaping (Int) -> Void, finished: @escaping (Bool) -> Void) { self.onStatus = onStatus; self.finished = finished }
    package func upstreamHead(_ head: consuming HTTPResponseHead) { status = head.status; onStatus(head.status) }
    package func upstreamBody(_ bytes: UnsafeRawBufferPointer) -> Flow { .proceed }
    package func resumeRequestBody() {}
    package func upstreamFinished(_ failure: UpstreamFailure?) { finished(failure == nil && (200..<300).contains(status)) }
}
