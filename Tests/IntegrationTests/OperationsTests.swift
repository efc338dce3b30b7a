import Foundation
import Glibc
import Testing

@Suite(.serialized) struct OperationsTests {
    @Test func adminNeedsTheTokenAndReportsStatus() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        #expect(try rampart.admin("GET", "/admin/status", token: nil).status == 401)
        let wrong = try rampart.admin("GET", "/admin/status", token: "nope")
        #expect(wrong.status == 403 && (wrong.json["error"] as? [String: Any])?["code"] as? String == "FORBIDDEN")
        let status = try rampart.admin("GET", "/admin/status")
        #expect(status.status == 200)
        #expect((status.json["config_hash"] as? String)?.count == 64)
        #expect(status.json["workers"] as? Int == 2)
        #expect((status.json["upstreams"] as? [String: Any])?["app"] != nil)
        let config = try rampart.admin("GET", "/admin/config")
        #expect((config.json["upstreams"] as? [String: Any])?["app"] != nil)
        #expect(try rampart.admin("GET", "/admin/reload").status == 405, "mutations are POST only")
    }

    @Test func metricsCountRequestsByRouteAndStatus() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        for _ in 0..<3 { _ = try HTTPClient.request(port: rampart.port, path: "/echo") }
        _ = try HTTPClient.request(port: rampart.port, path: "/boom")
        let m = try rampart.admin("GET", "/metrics")
        #expect(m.status == 200 && m.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(m.text.contains("rampart_requests_total{route=\"default\",status=\"200\",protocol=\"http/1.1\"} 3"))
        #expect(m.text.contains("rampart_requests_total{route=\"default\",status=\"502\",protocol=\"http/1.1\"} 1"), "the scrubbed 500")
        #expect(m.text.contains("rampart_request_duration_seconds_bucket{route=\"default\",le=\"+Inf\"} 4"))
        #expect(m.text.contains("# TYPE rampart_request_duration_seconds histogram"))
    }

    @Test func validateAndReloadKeepTheOldConfigWhenTheNewOneIsInvalid() throws {
        let app = try DemoApp()
        let original = testConfig(upstream: app.url)
        let rampart = try RampartProcess(config: original)
        let hash0 = try rampart.admin("GET", "/admin/status").json["config_hash"] as? String

        let bad = try rampart.admin("POST", "/admin/config/validate", body: #"{"server": {"workers": "two"}, "routes": [{"name": "x", "match": {"path": "/"}, "upstream": "nope"}]}"#)
        #expect(bad.status == 400)
        let errors = bad.json["errors"] as? [[String: Any]] ?? []
        #expect(errors.contains { $0["path"] as? String == "server.workers" })
        #expect(errors.count >= 2, "all errors at once")

        // Invalid file: rejected with its errors, old config still serving.
        try rampart.rewriteConfig(#"{"upstreams": {"app": {"url": "ftp://x"}}, "routes": []}"#)
        let rejected = try rampart.admin("POST", "/admin/reload")
        #expect(rejected.status == 400 && rejected.json["reloaded"] as? Bool == false)
        #expect(try rampart.admin("GET", "/admin/status").json["config_hash"] as? String == hash0)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo").status == 200)

        // Valid file via POST /admin/reload: new headers apply to new requests.
        try rampart.rewriteConfig(original.replacingOccurrences(of: "\"DENY\"", with: "\"SAMEORIGIN\""))
        let ok = try rampart.admin("POST", "/admin/reload")
        #expect(ok.status == 200 && ok.json["reloaded"] as? Bool == true)
        try eventually { try HTTPClient.request(port: rampart.port, path: "/echo").header("X-Frame-Options") == "SAMEORIGIN" }

        // And via SIGHUP.
        try rampart.rewriteConfig(original.replacingOccurrences(of: "\"DENY\"", with: "\"DENY\", \"X-Reloaded\": \"hup\""))
        rampart.child.signal(SIGHUP)
        try eventually { try HTTPClient.request(port: rampart.port, path: "/echo").header("X-Reloaded") == "hup" }
    }

    /// In-flight requests finish on the config they started with while a reload swaps it.
    @Test func inFlightStreamSurvivesReloadAndSigtermDrains() throws {
        let app = try DemoApp()
        let config = testConfig(upstream: app.url)
        let rampart = try RampartProcess(config: config)
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/sse/stepped?id=drain&events=3"))
        #expect(try c.readHead().status == 200)
        #expect(try c.readEvent() == #"event: tick\#ndata: {"n":1,"id":"drain"}"#)
        try rampart.rewriteConfig(config.replacingOccurrences(of: "\"DENY\"", with: "\"SAMEORIGIN\""))
        #expect(try rampart.admin("POST", "/admin/reload").status == 200)

        rampart.child.signal(SIGTERM)
        // Draining: new connections are refused or told not ready, the open stream continues.
        try eventually { (try? HTTPClient.request(port: rampart.port, path: "/_rampart/readyz"))?.status != 200 }
        try app.control("POST", "/_demo/step?id=drain")
        #expect(try c.readEvent() == #"event: tick\#ndata: {"n":2,"id":"drain"}"#)
        try app.control("POST", "/_demo/step?id=drain")
        #expect(try c.readEventsToEnd() == [#"event: done\#ndata: {"n":3,"id":"drain","done":true}"#], "the stream finishes whole during the drain")
        #expect(try rampart.child.waitForExit() == 0)
    }

    @Test func checkCommandPrintsEveryErrorWithItsPath() throws {
        let dir = NSTemporaryDirectory() + "rampart-check-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/bad.json"
        try #"""
        {"upstreams": {"app": {"url": "http://127.0.0.1:3000"}},
         "routes": [{"name": "a", "match": {"path": "/a"}, "quotas": [{"limit": 10, "per": "1 hour"}]},
                    {"name": "b", "match": {"path": "/b"}, "upstream": "missing", "bogus": 1}]}
        """#.write(toFile: path, atomically: true, encoding: .utf8)
        let bad = try ChildProcess(Binaries.rampart, ["check", "--config", path])
        #expect(try bad.waitForExit() == 1)
        let out = bad.lines.joined(separator: "\n")
        #expect(out.contains("routes[0].quotas[0].per"))
        #expect(out.contains("1 hour"))
        #expect(out.contains("routes[1].upstream"))
        #expect(out.contains("routes[1].bogus"))

        let good = try ChildProcess(Binaries.rampart, ["check", "--config", Binaries.repoRoot + "/gateway.json"],
                                    environment: ["RAMPART_ADMIN_TOKEN": "x"])
        #expect(try good.waitForExit() == 0)
    }
}
