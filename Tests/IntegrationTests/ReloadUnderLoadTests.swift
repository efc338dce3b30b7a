import Foundation
import Glibc
import Testing

@Suite(.serialized) struct ReloadUnderLoadTests {
    /// While wrk drives keep-alive traffic, 20 reloads alternate between two valid configs with one
    /// invalid config among them. No request fails, the invalid one is refused with its errors, and
    /// `/admin/status` ends on the hash of the last good config.
    @Test func twentyReloadsUnderWrkLoseNoRequest() throws {
        let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let wrkPath = try #require(wrk, "wrk is missing: `make test` installs it (Debian package wrk)")
        let app = try DemoApp()
        func config(_ tag: String) -> String {
            testConfig(upstream: app.url).replacingOccurrences(of: "\"DENY\"", with: "\"DENY\", \"X-Config\": \"\(tag)\"")
        }
        let rampart = try RampartProcess(config: config("a"))
        let url = "http://127.0.0.1:\(rampart.port)/echo"

        // wrk stops and prints its summary on SIGINT (ChildProcess starts it with no signal blocked).
        let load = try ChildProcess(wrkPath, ["-t1", "-c8", "-d120s", url])
        defer { load.stop() }
        try eventually("wrk's traffic reaches Rampart") {
            (try MetricsScrape.take(rampart).value("rampart_requests_total", ["route": "default"])) >= 200
        }

        var lastGood = ""
        for i in 1...20 {
            if i == 10 {
                try rampart.rewriteConfig(#"{"upstreams": {"app": {"url": "ftp://nowhere"}}, "routes": [{"name": "r", "match": {}, "upstream": "missing"}]}"#)
                let refused = try rampart.admin("POST", "/admin/reload")
                #expect(refused.status == 400 && refused.json["reloaded"] as? Bool == false)
                let paths = (refused.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                #expect(paths.contains("upstreams.app.url") && paths.contains("routes[0].upstream"), "the errors name their paths: \(paths)")
                continue
            }
            try rampart.rewriteConfig(config(i % 2 == 0 ? "b" : "a"))
            let r = try rampart.admin("POST", "/admin/reload")
            #expect(r.status == 200 && r.json["reloaded"] as? Bool == true, "reload \(i): \(r.text)")
            lastGood = r.json["config_hash"] as? String ?? ""
        }
        let status = try rampart.admin("GET", "/admin/status").json
        #expect(status["config_hash"] as? String == lastGood && lastGood.count == 64)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo").header("X-Config") == "b", "reload 20 (config b) serves")
        let before = try MetricsScrape.take(rampart).value("rampart_requests_total", ["route": "default"])
        try eventually("wrk keeps going after the reloads") {
            try MetricsScrape.take(rampart).value("rampart_requests_total", ["route": "default"]) >= before + 200
        }

        load.signal(SIGINT)
        #expect(try load.waitForExit() == 0)
        let summary = load.lines.joined(separator: "\n")
        let total = load.lines.first { $0.contains("requests in") }.flatMap { $0.split(separator: " ").first.flatMap { Int($0) } } ?? 0
        #expect(total >= 400, "wrk's summary: \(summary)")
        #expect(!summary.contains("Socket errors"), "no connection failed: \(summary)")
        #expect(!summary.contains("Non-2xx"), "every response was 2xx: \(summary)")
        let reloads = try MetricsScrape.take(rampart)
        #expect(reloads.value("rampart_config_reloads_total", ["result": "ok"]) == 19)
        #expect(reloads.value("rampart_config_reloads_total", ["result": "failed"]) == 1)
        // 499 is Rampart's log status for a client that hung up (wrk's own connections at SIGINT).
        let failed = reloads.samples.filter { $0.name == "rampart_requests_total" && $0.labels["status"] != "200" && $0.labels["status"] != "499" }
        #expect(failed.isEmpty, "Rampart answered nothing but 200: \(failed)")
    }
}
