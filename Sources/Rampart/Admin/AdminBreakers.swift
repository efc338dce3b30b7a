import Foundation
import RampartLoop
import RampartTransport
import RampartProxy
import RampartHTTP

/// `GET /admin/breakers` and `POST /admin/breakers/{upstream}/open|close|reset` (SPEC §7.3, §9).
enum AdminBreakers {
    static func handle(_ head: HTTPRequestHead, state: GatewayState) -> AdminService.Answer? {
        let now = state.wallNow()
        if head.path == "/admin/breakers" {
            guard head.method == "GET" else { return nil }
            let items = state.breakers.snapshots(now: now).map { name, s in (name, render(s)) }
            return (200, JSONText.object([("breakers", JSONText.object(items))]), "application/json")
        }
        let parts = head.path.split(separator: "/", omittingEmptySubsequences: false)
        // /admin/breakers/{name}/{action}; a route's own breaker is named `<upstream>/<route>`.
        guard parts.count >= 5, parts[1] == "admin", parts[2] == "breakers", let action = parts.last,
              ["open", "close", "reset"].contains(action) else { return nil }
        guard head.method == "POST" else {
            return (405, GatewayError(status: 405, code: "METHOD_NOT_ALLOWED", message: "Breaker actions are POST only.").bodyText, "application/json")
        }
        let upstream = parts[3..<(parts.count - 1)].joined(separator: "/")
        let done: Bool
        switch action {
        case "open": done = state.breakers.forceOpen(upstream: upstream, now: now)
        case "close": done = state.breakers.forceClose(upstream: upstream)
        case "reset": done = state.breakers.reset(upstream: upstream)
        default: return nil
        }
        guard done, let s = state.breakers.snapshot(upstream: upstream, now: now) else {
            return (404, GatewayError(status: 404, code: "NOT_FOUND", message: "There is no circuit breaker for upstream \(upstream).").bodyText, "application/json")
        }
        return (200, JSONText.object([("upstream", JSONText.quote(upstream)), ("breaker", render(s))]), "application/json")
    }

    static func render(_ s: BreakerSnapshot) -> String {
        JSONText.object([
            ("state", JSONText.quote(s.state)), ("consecutive_failures", String(s.consecutiveFailures)),
            ("window_successes", String(s.windowSuccesses)), ("window_failures", String(s.windowFailures)),
            ("opened_at", s.openedAt.map { JSONText.number($0) } ?? "null"),
            ("next_probe_at", s.nextProbeAt.map { JSONText.number($0) } ?? "null"),
            ("probes_in_flight", String(s.probesInFlight)), ("forced", s.forced ? "true" : "false"),
        ])
    }

    /// Prometheus gauge lines: 0 closed, 1 half-open, 2 open.
    static func gauge(state: GatewayState) -> String {
        var out = "# HELP rampart_breaker_state Circuit breaker state per upstream (0 closed, 1 half-open, 2 open).\n# TYPE rampart_breaker_state gauge\n"
        for (name, s) in state.breakers.snapshots(now: state.wallNow()) {
            let v = s.state == "open" ? 2 : s.state == "half_open" ? 1 : 0
            out += "rampart_breaker_state{upstream=\"\(Metrics.labelValue(name))\"} \(v)\n"
        }
        return out
    }
}
