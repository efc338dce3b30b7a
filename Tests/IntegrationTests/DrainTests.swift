import Foundation
import Glibc
import Testing

/// Shutdown as a rolling deploy sees it (SPEC §2, §11.12): readiness fails at once, the listener
/// keeps accepting for `drain_delay`, keep-alive clients are told to reconnect, in-flight work
/// finishes, and what is still running at the deadline ends in a way its client can tell.
@Suite(.serialized) struct DrainTests {
    /// Two replicas restarted one after the other under keep-alive traffic, slow requests and
    /// streams, with clients that follow readiness like Kubernetes endpoints: not one request fails.
    @Test func rollingRestartLosesNoRequest() throws {
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-drill-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let template = dir + "/template.json"
        try testConfig(upstream: app.url, server: #""drain_delay": "3s", "drain_timeout_ms": 10000"#,
                       extraTop: #""identity": {"trusted_header": "X-User-Id"}"#)
            .replacingOccurrences(of: #""listen": "127.0.0.1:0", "token_env""#, with: #""listen": null, "token_env""#)
            .write(toFile: template, atomically: true, encoding: .utf8)
        let (status, out) = try runPython(Binaries.repoRoot + "/Tests/Fixtures/rolling_drill.py", [Binaries.rampart, template, dir],
                                          environment: ["RAMPART_ADMIN_TOKEN": RampartProcess.adminToken])
        #expect(status == 0, "\(out)")
        let line = try #require(out.split(separator: "\n").last(where: { $0.hasPrefix("{") }), "\(out)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let requests = summary["requests"] as? Int ?? 0
        #expect(summary["failures"] as? Int == 0, "\(summary["failure_samples"] ?? "")")
        #expect(requests > 100, "the drill sent too little traffic to mean anything: \(line)")
        let kinds = summary["by_kind"] as? [String: Int] ?? [:]
        #expect((kinds["slow"] ?? 0) >= 2 && (kinds["stream"] ?? 0) >= 2 && (kinds["idle"] ?? 0) >= 2, "\(kinds)")
        #expect(summary["exit_codes"] as? [Int] == [0, 0], "\(line)")
        let logs = (summary["drain_logs"] as? [String] ?? []).joined(separator: "\n")
        #expect(logs.contains("SIGTERM received; draining"), "nothing logged when SIGTERM arrived: \(logs)")
        #expect(logs.contains("drained; exiting"), "\(logs)")
    }

    /// During the delay: readiness says 503, new connections are still served, and every response
    /// asks the client to reconnect. After it: the listener is closed and idle connections too.
    @Test func delayKeepsServingThenIdleConnectionsClose() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, server: #""drain_delay": "5s", "drain_timeout_ms": 5000"#))
        let idle = try HTTPClient(port: rampart.port)
        try idle.send(HTTPClient.requestText(method: "GET", path: "/echo/warm", close: false))
        #expect(try idle.readResponse().status == 200)

        rampart.child.signal(SIGTERM)
        _ = try rampart.child.waitForLine(containing: "SIGTERM received; draining")
        let ready = try HTTPClient.request(port: rampart.port, path: "/_rampart/readyz")
        #expect(ready.status == 503)
        #expect(String(decoding: ready.body, as: UTF8.self).contains("\"draining\":true"))
        let served = try HTTPClient.request(port: rampart.port, path: "/echo/during-delay")
        #expect(served.status == 200, "the listener must keep serving during drain_delay")
        #expect(served.header("Connection") == "close")

        _ = try rampart.child.waitForLine(containing: "stopped accepting")
        #expect(idle.isClosedByPeer(timeout: 10), "an idle keep-alive connection stays open after the delay")
        try eventually(timeout: 10, "new connections refused") { (try? HTTPClient(port: rampart.port, timeout: 1)) == nil }
        #expect(try rampart.child.waitForExit() == 0)
    }

    /// A stream still running at the deadline ends with its format's error event and a clean end
    /// of body (the terminating chunk), gets its access-log line, and on a save route what streamed
    /// so far is journaled, not lost.
    @Test func streamCutAtTheDeadlineGetsItsErrorEventAndIsJournaled() throws {
        let app = try DemoApp()
        let routes = #"""
        [{"name": "generate", "match": {"methods": ["POST"], "path": "/api/ai/generate/chapter"},
          "stream_save": {"format": "anthropic", "save": {"method": "PUT", "url": "/api/chapters/{body.chapterId}/content"}}},
         {"name": "default", "match": {"path_prefix": "/"}}]
        """#
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: routes,
                                                            server: #""drain_delay": "0s", "drain_timeout_ms": 300"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "POST", path: "/api/ai/generate/chapter?delay_ms=1000&events=30",
                                          body: Array(#"{"chapterId":"cut1"}"#.utf8), headers: ["Content-Type": "application/json"]))
        #expect(try c.readHead().status == 200)
        #expect(try c.readEvent()?.hasPrefix("event: message_start\n") == true)

        rampart.child.signal(SIGTERM)
        // What the client sees: the app's events as they came, then Anthropic's error event, then
        // Rampart's save_status, then a clean end of the body (readEventsToEnd insists on it).
        let rest = try c.readEventsToEnd().map { event -> (name: String, data: [String: Any]) in
            let lines = event.components(separatedBy: "\n")
            let name = lines.first { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) } ?? ""
            let data = lines.first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
            return (name, (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:])
        }
        #expect(rest.map(\.name).suffix(2) == ["error", "save_status"], "\(rest.map(\.name))")
        #expect(rest.dropLast(2).allSatisfy { ["content_block_start", "content_block_delta"].contains($0.name) }, "\(rest.map(\.name))")
        let error = rest.count >= 2 ? rest[rest.count - 2].data : [:]
        let body = error["error"] as? [String: Any]
        #expect(error["type"] as? String == "error" && body?["type"] as? String == "overloaded_error", "\(error)")
        #expect(body?["code"] as? String == "SHUTTING_DOWN", "\(error)")
        let status = rest.last?.data ?? [:]
        #expect(status["type"] as? String == "save_status" && status["success"] as? Bool == false, "\(status)")
        #expect(status["reason"] as? String == "upstream_incomplete" && status["save_id"] is String, "\(status)")
        #expect(try rampart.child.waitForExit() == 0)
        let line = try #require(rampart.accessLog.first { $0["path"] as? String == "/api/ai/generate/chapter" }, "\(rampart.child.lines.suffix(5))")
        #expect(line["error"] as? String == "SHUTTING_DOWN")
        #expect((line["bytes_out"] as? Int ?? 0) > 0)
        #expect((line["save"] as? [String: Any])?["result"] as? String == "journaled")
        #expect(rampart.child.lines.contains { $0.contains("drain deadline reached") })
        let journal = try String(contentsOfFile: rampart.dir + "/var/rampart/saves.journal", encoding: .utf8)
        #expect(journal.contains("upstream_incomplete"), "the partial content must be in the journal: \(journal)")
    }
}
