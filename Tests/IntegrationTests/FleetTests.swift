import Foundation
import Testing

/// SPEC §11.8 point 1: replicas on one Redis are one fleet to ops: every replica's admin API reads
/// the same usage, quota and top-caller totals, whichever replica served the calls.
@Suite(.serialized) struct FleetTests {
    @Test func everyReplicaReadsTheFleetsTotals() throws {
        let redis = try RedisServer()
        let app = try DemoApp()
        let config = testConfig(upstream: app.url, routes: """
            [{"name": "messages", "match": {"path": "/v1/messages"}, "format": "anthropic", "quotas": [{"limit": 100, "per": "1h", "key": "user"}]},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """, server: #""trusted_proxies": ["127.0.0.1/32"]"#,
            extraTop: #""identity": {"trusted_header": "X-User-Id"}, "store": {"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0"}"#)
        let a = try RampartProcess(config: config)
        let b = try RampartProcess(config: config)
        let body = Array(#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello fleet"}]}"#.utf8)
        for (replica, calls) in [(a, 2), (b, 3)] {
            for _ in 0..<calls {
                let r = try HTTPClient.request(port: replica.port, method: "POST", path: "/v1/messages", body: body,
                                               headers: ["Content-Type": "application/json", "X-User-Id": "fleet-u1"])
                #expect(r.status == 200, "\(r.text)")
            }
        }
        func usage(_ r: RampartProcess) throws -> [String: Any] {
            let u = try r.admin("GET", "/admin/usage?key=user:fleet-u1").json
            #expect(u["scope"] as? String == "fleet", "\(u)")
            return ((u["windows"] as? [[String: Any]])?.first?["total"] as? [String: Any]) ?? [:]
        }
        var fromA: [String: Any] = [:], fromB: [String: Any] = [:]
        try eventually(timeout: 20, "both replicas see all 5 calls") {
            fromA = try usage(a); fromB = try usage(b)
            return fromA["requests"] as? Int == 5 && fromB["requests"] as? Int == 5
        }
        #expect((fromA["output_tokens"] as? Int ?? 0) > 0 && fromA["output_tokens"] as? Int == fromB["output_tokens"] as? Int, "\(fromA) \(fromB)")
        #expect(fromA["input_tokens"] as? Int == fromB["input_tokens"] as? Int)
        let everyone = try a.admin("GET", "/admin/usage").json
        #expect(((everyone["windows"] as? [[String: Any]])?.first?["total"] as? [String: Any])?["requests"] as? Int == 5, "\(everyone)")

        for r in [a, b] {
            let q = try r.admin("GET", "/admin/quotas?key=user:fleet-u1").json
            let used = (q["quotas"] as? [[String: Any]])?.first { $0["route"] as? String == "messages" }?["used"] as? Int
            #expect(used == 5, "quota state is the fleet's: \(q)")
            let top = try r.admin("GET", "/admin/quotas/top").json
            let first = (top["top"] as? [[String: Any]])?.first
            #expect(first?["key"] as? String == "user:fleet-u1" && first?["used"] as? Int == 5, "\(top)")
        }
    }
}
