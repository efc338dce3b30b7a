import CCurl
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
        let easy = curl_easy_init()!
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
                    let ok = get(easy, server: server, path: check.path, timeout: check.timeout)
                    guard pool.checked(i, ok: ok) else { continue }
                    AccessLog(loop: nil, enabled: true, level: .info).event(ok ? .info : .warn, ok ? "upstream server healthy" : "upstream server unhealthy", [
                        ("upstream", JSONText.quote(pool.upstream)), ("server", JSONText.quote(server.url)), ("path", JSONText.quote(check.path))])
                }
            }
        }
    }

    /// One check: true for a 2xx within the timeout.
    private func get(_ easy: UnsafeMutableRawPointer, server: PoolServer, path: String, timeout: Duration) -> Bool {
        curl_easy_reset(easy)
        let url = "\(server.endpoint.scheme)://\(server.authority)\(path)"
        _ = rampart_easy_setopt_string(easy, CURLOPT_URL, url)
        _ = rampart_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = rampart_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, Int(Self.seconds(timeout) * 1000)))
        if !server.endpoint.tlsVerify {
            _ = rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0)
            _ = rampart_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0)
        }
        _ = rampart_easy_setopt_datacb(easy, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }
        guard curl_easy_perform(easy) == CURLE_OK else { return false }
        var status = 0 as CLong
        _ = rampart_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return (200..<300).contains(status)
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}
