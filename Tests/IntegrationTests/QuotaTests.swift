import Foundation
import Glibc
import Testing

/// A free TCP port on 127.0.0.1 (bound and released).
func freePort() -> UInt16 {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in(); addr.sin_family = sa_family_t(AF_INET); addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
    close(s)
    return UInt16(bigEndian: addr.sin_port)
}

/// Debian's redis-server on an ephemeral port, no persistence. Missing, it fails the test that
/// needs it: `make test` installs it, so its absence is a broken machine, not a reason to skip.
final class RedisServer: @unchecked Sendable {
    static let executable = "/usr/bin/redis-server"
    let port: UInt16
    let extraArgs: [String]
    private(set) var child: ChildProcess?
    init(port: UInt16 = freePort(), extraArgs: [String] = []) throws { self.port = port; self.extraArgs = extraArgs; try start() }
    func start() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw TestFailure("\(Self.executable) is missing: `make test` installs it (Debian package redis-server)")
        }
        let started = try ChildProcess(Self.executable, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"] + extraArgs)
        child = started
        _ = try started.waitForLine(containing: "Ready to accept connections")
    }
    func stop() { child?.signal(SIGKILL); _ = try? child?.waitForExit(); child = nil }
    deinit { stop() }
}

private func quotaConfig(upstream: String, quotas: String, store: String = #"{"kind": "memory"}"#, workers: Int = 2) -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": \(workers), "trusted_proxies": ["127.0.0.1/32"]},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "store": \(store),
      "identity": {"trusted_header": "X-User-Id"},
      "upstreams": {"app": {"url": "\(upstream)"}},
      "routes": [{"name": "generate-chapter", "match": {"path_prefix": "/echo/gen"}, "quotas": \(quotas)},
                 {"name": "default", "match": {"path_prefix": "/"}}]
    }
    """
}

private func hit(_ port: UInt16, user: String, path: String = "/echo/gen") throws -> HTTPClient.Response {
    try HTTPClient.request(port: port, path: path, headers: ["X-User-Id": user])
}

@Suite(.serialized) struct QuotaTests {
    /// Two workers share one count: exactly `limit` admitted, then 429s with the headers of the draft.
    @Test func exactLimitAcrossWorkersWithRateLimitHeaders() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: quotaConfig(upstream: app.url, quotas: #"[{"limit": 5, "per": "1h", "key": "user"}]"#))
        var statuses: [Int] = []
        for _ in 0..<8 { statuses.append(try hit(rampart.port, user: "u1").status) }
        #expect(statuses.filter { $0 == 200 }.count == 5 && statuses.filter { $0 == 429 }.count == 3, "\(statuses)")
        let ok = try hit(rampart.port, user: "u2")
        #expect(ok.header("RateLimit-Policy") == "\"generate-chapter\";q=5;w=3600")
        #expect(ok.header("RateLimit")?.hasPrefix("\"generate-chapter\";r=4;t=") == true)
        #expect(ok.header("X-RateLimit-Limit") == "5" && ok.header("X-RateLimit-Remaining") == "4")
        let limited = try hit(rampart.port, user: "u1")
        #expect(limited.status == 429)
        let error = limited.json["error"] as? [String: Any]
        #expect(error?["code"] as? String == "RATE_LIMITED")
        #expect((error?["message"] as? String)?.contains("5 per 1h on generate-chapter") == true)
        let retry = Int(limited.header("Retry-After") ?? "") ?? 0
        #expect(retry >= 3590 && retry <= 3600)
        #expect(limited.header("X-RateLimit-Remaining") == "0")
        #expect(try hit(rampart.port, user: "u1", path: "/echo/other").status == 200, "other routes are not limited")

        let m = try rampart.admin("GET", "/metrics").text
        #expect(m.contains("rampart_quota_decisions_total{route=\"generate-chapter\",result=\"limited\"} 4"))
        let q = try rampart.admin("GET", "/admin/quotas?key=user:u1")
        let entry = (q.json["quotas"] as? [[String: Any]])?.first
        #expect(entry?["used"] as? Int == 5 && entry?["remaining"] as? Int == 0 && entry?["route"] as? String == "generate-chapter")
        #expect(try rampart.admin("DELETE", "/admin/quotas?key=user:u1&route=generate-chapter").status == 200)
        #expect(try hit(rampart.port, user: "u1").status == 200, "a reset user starts afresh")
    }

    /// Retry-After is the true wait: a client that waits exactly that long gets through.
    @Test func waitingRetryAfterSucceeds() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: quotaConfig(upstream: app.url, quotas: #"[{"limit": 2, "per": "3s"}, {"limit": 100, "per": "1h"}]"#))
        #expect(try hit(rampart.port, user: "w").status == 200)
        #expect(try hit(rampart.port, user: "w").status == 200)
        let limited = try hit(rampart.port, user: "w")
        #expect(limited.status == 429)
        let wait = try #require(Int(limited.header("Retry-After") ?? ""))
        #expect(wait >= 1 && wait <= 3)
        usleep(UInt32(wait) * 1_000_000)
        #expect(try hit(rampart.port, user: "w").status == 200)
        // Spending is all-or-none: the 429 above did not use the hourly quota (4 admitted of 100).
        let r = try hit(rampart.port, user: "w")
        #expect(r.header("RateLimit")?.contains("\"generate-chapter-1\";r=96") == true, "\(r.header("RateLimit") ?? "")")
    }

    /// The memory store survives a restart: spend, SIGTERM, start again, still limited.
    @Test func memoryStoreSurvivesRestart() throws {
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-store-" + UUID().uuidString
        let config = quotaConfig(upstream: app.url, quotas: #"[{"limit": 3, "per": "1h"}]"#, store: #"{"kind": "memory", "dir": "\#(dir)"}"#)
        let first = try RampartProcess(config: config)
        for _ in 0..<3 { #expect(try hit(first.port, user: "r").status == 200) }
        first.child.signal(SIGTERM)
        #expect(try first.child.waitForExit() == 0)
        let second = try RampartProcess(config: config)
        #expect(try hit(second.port, user: "r").status == 429, "a restart does not hand out a fresh hourly quota")
        #expect(try hit(second.port, user: "other").status == 200)
    }

    /// Two Rampart processes, one Redis: one global limit. Redis down: allow or deny as configured,
    /// readiness says why, a metric counts it; Redis back: recovery without restart.
    @Test func redisStoreSharedByTwoProcessesAndOutages() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let store = #"{"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0", "on_unavailable": "deny"}"#
        let a = try RampartProcess(config: quotaConfig(upstream: app.url, quotas: #"[{"limit": 10, "per": "1h"}]"#, store: store))
        let b = try RampartProcess(config: quotaConfig(upstream: app.url, quotas: #"[{"limit": 10, "per": "1h"}]"#,
                                                       store: store.replacingOccurrences(of: "deny", with: "allow")))
        try eventually { (try? HTTPClient.request(port: a.port, path: "/_rampart/readyz"))?.status == 200 }
        try eventually { (try? HTTPClient.request(port: b.port, path: "/_rampart/readyz"))?.status == 200 }
        var admitted = 0
        for i in 0..<16 { if try hit(i % 2 == 0 ? a.port : b.port, user: "shared").status == 200 { admitted += 1 } }
        #expect(admitted == 10, "exactly the limit across both replicas")

        redis.stop()
        try eventually { (try? HTTPClient.request(port: a.port, path: "/_rampart/readyz"))?.status == 503 }
        let ready = try HTTPClient.request(port: a.port, path: "/_rampart/readyz")
        #expect((ready.json["reason"] as? String)?.contains("quota store") == true)
        let denied = try hit(a.port, user: "fresh")
        #expect(denied.status == 503, "on_unavailable: deny")
        #expect(try hit(b.port, user: "fresh").status == 200, "on_unavailable: allow")
        #expect(try a.admin("GET", "/metrics").text.contains("rampart_store_errors_total{kind=\"quota\"}"))

        try redis.start()
        try eventually(timeout: 30) { (try? hit(a.port, user: "fresh2"))?.status == 200 }
        #expect(try HTTPClient.request(port: a.port, path: "/_rampart/readyz").status == 200)
    }
}
