import Foundation
import RampartHTTP
import RampartProxy

/// Active health checks of pooled upstreams (`health_check`, SPEC §11.8): a GET of each server's
/// `path` every `interval` from a thread of its own (libcurl's multi interface: checks run side by
/// side, each bounded by `timeout`, so a hanging server delays no other), so a check never costs a
/// loop anything. A 2xx is healthy; `unhealthy_after` failures in a row take the server out,
/// `healthy_after` successes bring it back. The live config is read at each round, so a reload
/// adds or changes checks without a restart.
final class HealthChecker: @unchecked Sendable {
    private let state: GatewayState
    /// When each server is next due (by upstream and URL); touched only by the checker's thread.
    private var due: [String: Double] = [:]

    init(state: GatewayState) { self.state = state }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "rampart-health"
        thread.start()
    }

    private func run() {
        let gets = ConcurrentGets()
        var checks: [Int: (pool: ServerPool, index: Int, path: String)] = [:]   // in flight, by tag
        var nextTag = 0
        var checking = false
        while true {
            // Ten rounds a second while some pool has checks (waiting on the checks in flight);
            // one a second otherwise (a reload may add some).
            if gets.count == 0 { Thread.sleep(forTimeInterval: checking ? 0.1 : 1) }
            let now = Date().timeIntervalSince1970
            checking = false
            for pool in state.livePools() {
                guard let check = pool.config.healthCheck else { continue }
                checking = true
                for (i, server) in pool.servers.enumerated() {
                    let key = pool.upstream + " " + server.url
                    if let next = due[key], next > now { continue }
                    due[key] = now + Self.seconds(check.interval)
                    // A check still waiting for its timeout is not sent again.
                    guard !checks.values.contains(where: { $0.pool === pool && $0.index == i }) else { continue }
                    nextTag += 1
                    checks[nextTag] = (pool, i, check.path)
                    gets.add("\(server.endpoint.scheme)://\(server.authority)\(check.path)", timeoutMs: Int(Self.seconds(check.timeout) * 1000),
                             verifyTLS: server.endpoint.tlsVerify, tag: nextTag)
                }
            }
            guard gets.count > 0 else { continue }
            for (tag, answer) in gets.poll(waitMs: 100) {
                guard let check = checks.removeValue(forKey: tag) else { continue }
                let ok: Bool
                if case .success(let status) = answer { ok = (200..<300).contains(status) } else { ok = false }
                guard check.pool.checked(check.index, ok: ok) else { continue }
                let server = check.pool.servers[check.index]
                AccessLog(loop: nil, enabled: true, level: .info).event(ok ? .info : .warn, ok ? "upstream server healthy" : "upstream server unhealthy", [
                    ("upstream", JSONText.quote(check.pool.upstream)), ("server", JSONText.quote(server.url)), ("path", JSONText.quote(check.path))])
            }
        }
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
