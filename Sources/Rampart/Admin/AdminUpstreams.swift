import RampartHTTP
import RampartProxy

/// `GET /admin/upstreams`: every upstream's servers with their state (up, ejected by passive
/// health, unhealthy by active checks, drained by ops), requests in flight and in all; and
/// `POST /admin/upstreams/{name}/servers/{i}/drain` or `/enable` (SPEC §11.8). A drained server
/// takes no new request; those in flight finish.
enum AdminUpstreams {
    static func handle(_ head: HTTPRequestHead, state: GatewayState) -> AdminService.Answer? {
        if head.path == "/admin/upstreams" {
            guard head.method == "GET" else { return error(405, "METHOD_NOT_ALLOWED", "\(head.method) is not allowed on \(head.path).") }
            return (200, JSONText.object([("upstreams", JSONText.object(state.current.config.upstreams.keys.sorted().map { name in
                (name, render(state.current.config.upstreams[name]!, state: state))
            }))]), "application/json")
        }
        let parts = head.path.split(separator: "/", omittingEmptySubsequences: false)
        // ["", "admin", "upstreams", name, "servers", i, action]
        guard parts.count == 7, parts[2] == "upstreams", parts[4] == "servers", let i = Int(parts[5]) else { return nil }
        guard head.method == "POST" else { return error(405, "METHOD_NOT_ALLOWED", "\(head.method) is not allowed on \(head.path).") }
        let name = String(parts[3]), action = parts[6]
        guard action == "drain" || action == "enable" else { return error(404, "NOT_FOUND", "Use .../drain or .../enable.") }
        guard let upstream = state.current.config.upstreams[name] else { return error(404, "NOT_FOUND", "There is no upstream \(name).") }
        guard let pool = state.pool(for: upstream), pool.servers.indices.contains(i) else {
            return error(404, "NOT_FOUND", "Upstream \(name) has no server \(i) in a pool (servers are numbered from 0).")
        }
        pool.setDrained(i, action == "drain")
        let s = pool.statuses(now: state.wallNow())[i]
        return (200, JSONText.object([("upstream", JSONText.quote(name)), ("server", String(i)), ("url", JSONText.quote(s.server.url)),
                                      ("state", JSONText.quote(s.state.rawValue))]), "application/json")
    }

    /// One upstream's servers (a one-`url` upstream is one server, always up as far as pools go).
    static func render(_ u: UpstreamConfig, state: GatewayState) -> String {
        guard let pool = state.pool(for: u) else {
            return JSONText.object([("balance", "null"), ("servers", JSONText.array([JSONText.object([
                ("index", "0"), ("url", JSONText.quote(u.url)), ("weight", "1"), ("state", JSONText.quote("up"))])]))])
        }
        let servers = pool.statuses(now: state.wallNow()).enumerated().map { i, s in
            JSONText.object([("index", String(i)), ("url", JSONText.quote(s.server.url)), ("weight", String(s.server.weight)),
                             ("state", JSONText.quote(s.state.rawValue)), ("in_flight", String(s.inFlight)),
                             ("requests", String(s.requests)), ("consecutive_failures", String(s.failures))])
        }
        return JSONText.object([("balance", JSONText.quote(pool.config.balance.rawValue)), ("servers", JSONText.array(servers))])
    }

    static func metrics(state: GatewayState) -> String {
        var out = "# HELP rampart_upstream_server_up Whether an upstream server takes requests (1) or is ejected, unhealthy or drained (0).\n# TYPE rampart_upstream_server_up gauge\n"
        var requests = "# HELP rampart_upstream_server_requests_total Attempts sent to each server of a pooled upstream.\n# TYPE rampart_upstream_server_requests_total counter\n"
        let now = state.wallNow()
        for pool in state.livePools() {
            for s in pool.statuses(now: now) {
                let labels = "upstream=\"\(Metrics.labelValue(pool.upstream))\",server=\"\(Metrics.labelValue(s.server.url))\""
                out += "rampart_upstream_server_up{\(labels)} \(s.state == .up ? 1 : 0)\n"
                requests += "rampart_upstream_server_requests_total{\(labels)} \(s.requests)\n"
            }
        }
        return out + requests
    }

    private static func error(_ status: Int, _ code: String, _ message: String) -> AdminService.Answer {
        (status, GatewayError(status: status, code: code, message: message).bodyText, "application/json")
    }
}
