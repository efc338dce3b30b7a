import Foundation
import RampartHTTP
import RampartProxy

/// Active health checks of pooled upstreams (`health_check`, SPEC §11.8): a GET of each server's
/// `path` every `interval` from a thread of its own (libcurl, `timeout`), so a check never costs a
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
        let curl = BlockingCurl()
        var checking = false
        while true {
            // Ten rounds a second while some pool has checks; one a second otherwise (a reload may add some).
            Thread.sleep(forTimeInterval: checking ? 0.1 : 1)
            let now = Date().timeIntervalSince1970
            checking = false
            for pool in state.livePools() {
                guard let check = pool.config.healthCheck else { continue }
                checking = true
                for (i, server) in pool.servers.enumerated() {
                    let key = pool.upstream + " " + server.url
                    if let next = due[key], next > now { continue }
                    due[key] = now + Self.seconds(check.interval)
                    let ok = get(curl, server: server, path: check.path, timeout: check.timeout)
                    guard pool.checked(i, ok: ok) else { continue }
                    AccessLog(loop: nil, enabled: true, level: .info).event(ok ? .info : .warn, ok ? "upstream server healthy" : "upstream server unhealthy", [
                        ("upstream", JSONText.quote(pool.upstream)), ("server", JSONText.quote(server.url)), ("path", JSONText.quote(check.path))])
                }
            }
        }
    }

    /// One check: true for a 2xx within the timeout.
    private func get(_ curl: BlockingCurl, server: PoolServer, path: String, timeout: Duration) -> Bool {
        let answer = curl.perform("\(server.endpoint.scheme)://\(server.authority)\(path)", timeoutMs: Int(Self.seconds(timeout) * 1000),
                                  verifyTLS: server.endpoint.tlsVerify)
        if case .success(let status) = answer { return (200..<300).contains(status) }
        return false
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
