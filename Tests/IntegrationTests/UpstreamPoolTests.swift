import Foundation
import Glibc
import Testing

extension DemoApp {
    /// Requests the app saw for `path` (health checks and others are counted apart).
    func count(_ path: String) throws -> Int {
        let r = try HTTPClient.request(port: port, path: "/_demo/stats")
        return ((r.json["by_path"] as? [String: Any])?[path] as? Int) ?? 0
    }
}

/// A config whose `app` upstream is a pool of `servers` (JSON), with `extra` members on it.
func poolConfig(_ servers: [(String, Int)], extra: String = "", top: String = "") -> String {
    let list = servers.map { #"{"url": "\#($0.0)", "weight": \#($0.1)}"# }.joined(separator: ", ")
    return testConfig(upstream: "unused", routes: nil, server: #""trusted_proxies": ["127.0.0.1/32"]"#, extraTop: top)
        .replacingOccurrences(of: #""app": {"url": "unused"}"#, with: #""app": {"servers": [\#(list)]\#(extra.isEmpty ? "" : ", " + extra)}"#)
}

func serverStates(_ rampart: RampartProcess) throws -> [String] {
    let u = try rampart.admin("GET", "/admin/upstreams").json
    let servers = ((u["upstreams"] as? [String: Any])?["app"] as? [String: Any])?["servers"] as? [[String: Any]] ?? []
    return servers.map { $0["state"] as? String ?? "?" }
}

@Suite(.serialized) struct UpstreamPoolTests {
    /// Smooth weighted round robin: weights 3 and 1 split 8 requests 6 and 2.
    @Test func roundRobinFollowsTheWeights() throws {
        let a = try DemoApp(), b = try DemoApp()
        let rampart = try RampartProcess(config: poolConfig([(a.url, 3), (b.url, 1)]))
        for _ in 0..<8 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo/rr").status == 200) }
        #expect(try a.count("/echo/rr") == 6 && b.count("/echo/rr") == 2)
        let m = try MetricsScrape.take(rampart)
        #expect(m.value("rampart_upstream_server_requests_total", ["upstream": "app"]) == 8)
        #expect(m.value("rampart_upstream_server_up", ["upstream": "app"]) == 2)
    }

    /// A dead server: its failures are retried on the other server, then passive health takes it
    /// out (no more retries needed); ops see it ejected.
    @Test func passiveHealthEjectsADeadServerAndRetriesGoElsewhere() throws {
        let a = try DemoApp()
        let dead = "http://127.0.0.1:\(freePort())"
        let rampart = try RampartProcess(config: poolConfig([(a.url, 1), (dead, 1)], extra: #"""
            "passive_health": {"consecutive_failures": 2, "cooldown": "60s"},
            "retry": {"attempts": 2, "backoff": "10ms", "on": ["connect"], "methods": ["GET"]}
            """#))
        for _ in 0..<8 { #expect(try HTTPClient.request(port: rampart.port, path: "/echo/ph").status == 200) }
        #expect(try a.count("/echo/ph") == 8)
        try eventually { rampart.accessLog.filter { $0["path"] as? String == "/echo/ph" }.count == 8 }
        let retries = rampart.accessLog.filter { $0["path"] as? String == "/echo/ph" }.reduce(0) { $0 + ($1["retries"] as? Int ?? 0) }
        #expect(retries == 2, "two attempts failed on the dead server before it was ejected: \(retries)")
        #expect(try serverStates(rampart) == ["up", "ejected"])
        #expect(try MetricsScrape.take(rampart).value("rampart_upstream_server_up", ["server": dead]) == 0)
    }

    /// Ops drain a server (no new requests reach it) and enable it again.
    @Test func drainAndEnableFromTheAdminAPI() throws {
        let a = try DemoApp(), b = try DemoApp()
        let rampart = try RampartProcess(config: poolConfig([(a.url, 1), (b.url, 1)]))
        let drained = try rampart.admin("POST", "/admin/upstreams/app/servers/1/drain")
        #expect(drained.status == 200 && drained.json["state"] as? String == "drained", "\(drained.text)")
        for _ in 0..<4 { _ = try HTTPClient.request(port: rampart.port, path: "/echo/dr") }
        #expect(try a.count("/echo/dr") == 4 && b.count("/echo/dr") == 0)
        #expect(try rampart.admin("POST", "/admin/upstreams/app/servers/1/enable").json["state"] as? String == "up")
        for _ in 0..<4 { _ = try HTTPClient.request(port: rampart.port, path: "/echo/dr") }
        #expect(try b.count("/echo/dr") == 2)
        #expect(try rampart.admin("POST", "/admin/upstreams/app/servers/7/drain").status == 404)
        let status = try rampart.admin("GET", "/admin/status").json
        #expect(((status["upstreams"] as? [String: Any])?["app"] as? [String: Any])?["pool"] != nil, "per-server state in /admin/status")
    }

    /// Active checks: a server whose health path fails is taken out, and back when it recovers.
    @Test func activeChecksFollowTheHealthPath() throws {
        let a = try DemoApp(), b = try DemoApp()
        let rampart = try RampartProcess(config: poolConfig([(a.url, 1), (b.url, 1)], extra: #"""
            "health_check": {"path": "/healthz", "interval": "200ms", "timeout": "1s", "unhealthy_after": 2, "healthy_after": 1}
            """#))
        try b.control("POST", "/_demo/faults", body: #"{"path_prefix": "/healthz", "times": -1, "status": 500}"#)
        try eventually(timeout: 20, "b unhealthy") { try serverStates(rampart) == ["up", "unhealthy"] }
        for _ in 0..<4 { _ = try HTTPClient.request(port: rampart.port, path: "/echo/ac") }
        #expect(try a.count("/echo/ac") == 4 && b.count("/echo/ac") == 0)
        try b.control("DELETE", "/_demo/faults")
        try eventually(timeout: 20, "b healthy again") { try serverStates(rampart) == ["up", "up"] }
    }

    /// Checks due together run at once: a server that accepts and never answers (its check waits
    /// out a 20 s timeout) does not delay the check that takes a failing server out.
    @Test func aHangingServerDelaysNoOtherCheck() throws {
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)   // listens, never accepts, never answers
        defer { close(silent) }
        var addr = sockaddr_in(); addr.sin_family = sa_family_t(AF_INET); addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(silent, 16)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &len) } }
        let b = try DemoApp()
        try b.control("POST", "/_demo/faults", body: #"{"path_prefix": "/healthz", "times": -1, "status": 500}"#)
        let rampart = try RampartProcess(config: poolConfig([("http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))", 1), (b.url, 1)], extra: #"""
            "health_check": {"path": "/healthz", "interval": "200ms", "timeout": "20s", "unhealthy_after": 1, "healthy_after": 1}
            """#))
        try eventually(timeout: 15, "b out while the hanging check still waits") { try serverStates(rampart) == ["up", "unhealthy"] }
    }

    /// `hash_user`: each caller stays on one server.
    @Test func hashUserKeepsEachCallerOnOneServer() throws {
        let a = try DemoApp(), b = try DemoApp()
        let rampart = try RampartProcess(config: poolConfig([(a.url, 1), (b.url, 1)], extra: #""balance": "hash_user""#,
                                                            top: #""identity": {"trusted_header": "X-User-Id"}"#))
        var used = Set<Int>()
        for user in 0..<8 {
            let path = "/echo/user\(user)"
            for _ in 0..<3 { _ = try HTTPClient.request(port: rampart.port, path: path, headers: ["X-User-Id": "u\(user)"]) }
            let (ca, cb) = (try a.count(path), try b.count(path))
            #expect((ca, cb) == (3, 0) || (ca, cb) == (0, 3), "user \(user): \(ca) and \(cb)")
            used.insert(ca == 3 ? 0 : 1)
        }
        #expect(used.count == 2, "8 callers spread over both servers")
    }
}
