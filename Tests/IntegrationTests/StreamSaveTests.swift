import Foundation
import Glibc
import Testing

/// A chapter-generation route that saves what streamed; `defaultQuotas` puts quotas on the catch-all route.
func saveConfig(upstream: String, dir: String, wait: String = "10s", store: String? = nil, defaultQuotas: String = "[]") -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": ["127.0.0.1/32"]},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "store": \(store ?? #"{"kind": "memory", "dir": "\#(dir)"}"#),
      "identity": {"trusted_header": "X-User-Id"},
      "upstreams": {"app": {"url": "\(upstream)"}},
      "routes": [{"name": "generate-chapter", "match": {"methods": ["POST"], "path": "/api/ai/generate/chapter"},
                  "stream_save": {"format": "anthropic",
                                  "save": {"method": "PUT", "url": "/api/chapters/{body.chapterId}/content",
                                           "body": {"content": "{content}", "chapterId": "{body.chapterId}"},
                                           "attempts": 3, "backoff": "100ms"},
                                  "echo": {"chapterId": "{body.chapterId}"}, "wait": "\(wait)", "continue_on_disconnect": true}},
                 {"name": "default", "match": {"path_prefix": "/"}, "quotas": \(defaultQuotas)}]
    }
    """
}

/// The whole SSE body of a generation, and its parsed events.
func generate(_ port: UInt16, chapter: String, query: String = "", user: String = "u1") throws -> (raw: String, events: [(String, String)]) {
    let r = try HTTPClient.request(port: port, method: "POST", path: "/api/ai/generate/chapter?delay_ms=1\(query)",
                                   body: Array(#"{"chapterId": "\#(chapter)"}"#.utf8), headers: ["Content-Type": "application/json", "X-User-Id": user])
    var events: [(String, String)] = []
    for block in r.text.components(separatedBy: "\n\n") where !block.isEmpty {
        var name = "message", data = ""
        for line in block.components(separatedBy: "\n") {
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
        }
        events.append((name, data))
    }
    return (r.text, events)
}

/// The last event of a generation; a body without one fails the test instead of the whole run.
func lastEvent(_ g: (raw: String, events: [(String, String)])) throws -> (String, String) {
    guard let last = g.events.last else { throw TestFailure("no event in \(g.raw.debugDescription)") }
    return last
}

func json(_ s: String) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] ?? [:] }

@Suite(.serialized) struct StreamSaveTests {
    let dir = NSTemporaryDirectory() + "rampart-saves-" + UUID().uuidString

    @Test func streamIsSavedAndConfirmed() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir))
        let (_, events) = try generate(rampart.port, chapter: "c42")
        #expect(events.contains { $0.0 == "message_stop" }, "the upstream's events pass through")
        let last = try #require(events.last)
        #expect(last.0 == "save_status")
        let status = json(last.1)
        #expect(status["type"] as? String == "save_status" && status["success"] as? Bool == true)
        #expect(status["attempts"] as? Int == 1 && status["chapterId"] as? String == "c42")
        let streamed = events.filter { $0.0 == "content_block_delta" }.compactMap { ((json($0.1)["delta"]) as? [String: Any])?["text"] as? String }.joined()
        let saved = try HTTPClient.request(port: app.port, path: "/api/chapters/c42/content")
        #expect(saved.json["content"] as? String == streamed, "the app has exactly what streamed")
        let stats = try HTTPClient.request(port: app.port, path: "/_demo/stats").json
        #expect(((stats["last_save_headers"] as? [String: Any])?["idempotency-key"] as? String)?.isEmpty == false)
    }

    @Test func failedSavesAreRetriedThenJournaled() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": 2, "status": 503}"#)
        let retried = json(try lastEvent(generate(rampart.port, chapter: "c1")).1)
        #expect(retried["success"] as? Bool == true && retried["attempts"] as? Int == 3)

        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let failed = json(try lastEvent(generate(rampart.port, chapter: "c2")).1)
        #expect(failed["success"] as? Bool == false)
        let id = try #require(failed["save_id"] as? String)
        #expect(failed["retry_url"] as? String == "/_rampart/saves/\(id)/retry")
        let journal = try String(contentsOfFile: dir + "/saves.journal", encoding: .utf8)
        #expect(journal.contains(id) && journal.contains("save_failed"), "journaled (and fsync'd) before the client was told")

        // Ops see it; a second failed save is deleted by ops; the first is retried by its user.
        let second = try #require(json(try lastEvent(generate(rampart.port, chapter: "c5")).1)["save_id"] as? String)
        let listed = try rampart.admin("GET", "/admin/saves").json
        #expect(listed["depth"] as? Int == 2)
        #expect(try rampart.admin("GET", "/metrics").text.contains("rampart_save_journal_depth 2"))
        #expect(try rampart.admin("DELETE", "/admin/saves/\(second)").status == 200)
        try app.control("DELETE", "/_demo/faults")
        let stranger = try HTTPClient.request(port: rampart.port, method: "POST", path: "/_rampart/saves/\(id)/retry", headers: ["X-User-Id": "u2"])
        #expect(stranger.status == 404, "another user's save does not exist for them")
        let retry = try HTTPClient.request(port: rampart.port, method: "POST", path: "/_rampart/saves/\(id)/retry", headers: ["X-User-Id": "u1"])
        #expect(retry.status == 200 && retry.json["success"] as? Bool == true)
        #expect(try HTTPClient.request(port: app.port, path: "/api/chapters/c2/content").status == 200)
        #expect(try rampart.admin("GET", "/admin/saves").json["depth"] as? Int == 0)
    }

    /// A journal that cannot be written (its path is a directory here; a full disk in
    /// bench/faults.sh) never yields a save id: the client hears the save failed and nothing holds it.
    @Test func aSaveTheJournalCannotHoldIsNeverGivenAnID() throws {
        let app = try DemoApp()
        try FileManager.default.createDirectory(atPath: dir + "/saves.journal", withIntermediateDirectories: true)
        let rampart = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let last = try #require(try generate(rampart.port, chapter: "c9").events.last)
        #expect(last.0 == "save_status")
        let status = json(last.1)
        #expect(status["success"] as? Bool == false && status["reason"] as? String == "journal_failed", "\(status)")
        #expect(status["save_reason"] as? String == "save_failed")
        #expect(status["save_id"] == nil && status["retry_url"] == nil, "no id for a save nothing holds: \(status)")
        #expect(try rampart.admin("GET", "/admin/saves").json["depth"] as? Int == 0)
    }

    @Test func opsReplayAJournaledSave() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let id = try #require(json(try lastEvent(generate(rampart.port, chapter: "c7")).1)["save_id"] as? String)
        #expect(try rampart.admin("POST", "/admin/saves/\(id)/replay").status == 502, "still failing")
        try app.control("DELETE", "/_demo/faults")
        let replay = try rampart.admin("POST", "/admin/saves/\(id)/replay")
        #expect(replay.status == 200 && replay.json["replayed"] as? Bool == true)
        #expect(try HTTPClient.request(port: app.port, path: "/api/chapters/c7/content").json["content"] as? String != nil)
        #expect(try rampart.admin("POST", "/admin/saves/\(id)/replay").status == 404, "gone from the journal")
    }

    /// Nothing acknowledged is lost when the process dies: kill -9 after the client got its save_id.
    @Test func journalSurvivesKill9() throws {
        let app = try DemoApp()
        let config = saveConfig(upstream: app.url, dir: dir)
        let first = try RampartProcess(config: config)
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let id = try #require(json(try lastEvent(generate(first.port, chapter: "c8")).1)["save_id"] as? String)
        first.child.signal(SIGKILL)
        _ = try first.child.waitForExit()
        let second = try RampartProcess(config: config)
        let ids = (try second.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids.contains(id))
    }

    @Test func anUpstreamCutIsNeverASuccess() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir))
        let generation = try generate(rampart.port, chapter: "c3", query: "&cut=1")
        let last = try lastEvent(generation)
        let status = json(last.1)
        #expect(last.0 == "save_status")
        #expect(status["success"] as? Bool == false && status["reason"] as? String == "upstream_incomplete")
        #expect(try HTTPClient.request(port: app.port, path: "/api/chapters/c3/content").status == 404, "nothing partial was saved as if complete")
    }

    @Test func aClientThatLeavesStillGetsItsContentSaved() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "POST", path: "/api/ai/generate/chapter?delay_ms=50&events=12",
                                          body: Array(#"{"chapterId": "gone"}"#.utf8), close: true))
        _ = try c.readHead()
        _ = try c.readUntil("content_block_delta")
        shutdown(c.fd, Int32(SHUT_RDWR))   // the client leaves mid-stream
        try eventually(timeout: 30) {
            ((try? HTTPClient.request(port: app.port, path: "/api/chapters/gone/content"))?.json["content"] as? String)?.isEmpty == false
        }
    }
}

@Suite(.serialized) struct PendingSaveTests {
    let dir = NSTemporaryDirectory() + "rampart-pending-" + UUID().uuidString

    /// A save slower than `wait`: the client hears "pending" with a save_id and leaves; the save
    /// goes on and lands; the journal keeps nothing once it did.
    /// The app refuses every save until the client has heard "pending", so the save cannot land
    /// first however late the 250 ms wait fires; ten attempts outlast any such delay.
    @Test func slowSaveIsReportedPendingAndStillLands() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir, wait: "250ms")
            .replacingOccurrences(of: #""attempts": 3, "backoff": "100ms""#, with: #""attempts": 10, "backoff": "1s""#))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 503}"#)
        let last = try lastEvent(generate(rampart.port, chapter: "p1"))
        try app.control("DELETE", "/_demo/faults")
        let status = json(last.1)
        #expect(last.0 == "save_status" && status["pending"] as? Bool == true && status["success"] is NSNull)
        #expect(status["save_id"] is String)
        try eventually { (try? HTTPClient.request(port: app.port, path: "/api/chapters/p1/content"))?.status == 200 }
        try eventually { (try? rampart.admin("GET", "/admin/saves"))?.json["depth"] as? Int == 0 }
    }

    /// Killed while a save was pending: the next start sends it again.
    @Test func pendingSavesResumeAfterKill9() throws {
        let app = try DemoApp()
        let config = saveConfig(upstream: app.url, dir: dir, wait: "250ms").replacingOccurrences(of: #""backoff": "100ms""#, with: #""backoff": "10s""#)
        let first = try RampartProcess(config: config)
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 503}"#)
        let status = json(try lastEvent(generate(first.port, chapter: "p2")).1)
        #expect(status["pending"] as? Bool == true)
        first.child.signal(SIGKILL)
        _ = try first.child.waitForExit()
        try app.control("DELETE", "/_demo/faults")
        let second = try RampartProcess(config: config)
        try eventually { (try? HTTPClient.request(port: app.port, path: "/api/chapters/p2/content"))?.status == 200 }
        try eventually { (try? second.admin("GET", "/admin/saves"))?.json["depth"] as? Int == 0 }
    }
}

@Suite(.serialized) struct VerifySaveTests {
    let dir = NSTemporaryDirectory() + "rampart-verify-" + UUID().uuidString

    /// Verify mode: the app's copy is read first; only a missing or different copy is saved.
    @Test func savesOnlyWhenTheAppsCopyDiffers() throws {
        let app = try DemoApp()
        let config = saveConfig(upstream: app.url, dir: dir).replacingOccurrences(of: #""format": "anthropic","#, with:
            #""format": "anthropic", "mode": "verify", "verify": {"url": "/api/chapters/{body.chapterId}/content", "pointer": "/content"},"#)
        let rampart = try RampartProcess(config: config)
        let first = json(try lastEvent(generate(rampart.port, chapter: "v1")).1)
        #expect(first["success"] as? Bool == true && first["verified"] as? Bool == false && first["saved"] as? Bool == true)
        // The demo app generates the same text for the same chapter: now its copy matches.
        let second = json(try lastEvent(generate(rampart.port, chapter: "v1")).1)
        #expect(second["success"] as? Bool == true && second["verified"] as? Bool == true && second["saved"] as? Bool == false)
    }
}

@Suite(.serialized) struct TapUnbufferedTests {
    /// On a stream_save route the tap never holds bytes back: each event reaches the client before
    /// the upstream sends the next (the demo app waits for our step), and the save still follows.
    @Test func tappedStreamsAreStillUnbuffered() throws {
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-tap-" + UUID().uuidString
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: #"""
            [{"name": "stepped", "match": {"path_prefix": "/sse/stepped"},
              "stream_save": {"format": "text", "save": {"method": "PUT", "url": "/api/chapters/stepped/content", "body": {"content": "{content}"}}}},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """#, extraTop: #""store": {"kind": "memory", "dir": "\#(dir)"}"#))
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/sse/stepped?id=tap&events=3"))
        #expect(try c.readHead().status == 200)
        _ = try c.readUntil("\n\n")
        for _ in 0..<2 {
            try app.control("POST", "/_demo/step?id=tap")
            _ = try c.readUntil("\n\n")
        }
        let tail = try c.readUntil("save_status")
        #expect(tail.contains("save_status"))
        #expect(try c.readUntil("\n\n").contains("\"success\":true"))
        let saved = try HTTPClient.request(port: app.port, path: "/api/chapters/stepped/content")
        #expect((saved.json["content"] as? String)?.contains("\"n\":1") == true)
    }
}

/// With the Redis store the journal lives in Redis: a save journaled by one replica is listed and
/// replayed by another, and a replica that starts leaves another live replica's pending saves alone.
@Suite(.serialized) struct SharedJournalTests {
    let dir = NSTemporaryDirectory() + "rampart-shared-" + UUID().uuidString

    private func ids(_ rampart: RampartProcess) throws -> [String] {
        (try rampart.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test func aSaveJournaledByOneReplicaIsReplayedByAnother() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let store = #"{"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0"}"#
        let a = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir, store: store), environment: ["RAMPART_INSTANCE": "a"])
        let b = try RampartProcess(config: saveConfig(upstream: app.url, dir: dir, store: store), environment: ["RAMPART_INSTANCE": "b"])
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let failed = json(try lastEvent(generate(a.port, chapter: "r1")).1)
        let id = try #require(failed["save_id"] as? String)
        #expect(failed["success"] as? Bool == false)

        let listed = try b.admin("GET", "/admin/saves").json
        let saves = listed["saves"] as? [[String: Any]] ?? []
        #expect(listed["depth"] as? Int == 1 && saves.first?["id"] as? String == id, "B lists A's save")
        #expect(saves.first?["owner"] as? String == "a")
        #expect(try b.admin("GET", "/metrics").text.contains("rampart_save_journal_depth 1"))

        try app.control("DELETE", "/_demo/faults")
        let replay = try b.admin("POST", "/admin/saves/\(id)/replay")
        #expect(replay.status == 200 && replay.json["replayed"] as? Bool == true)
        let saved = try HTTPClient.request(port: app.port, path: "/api/chapters/r1/content")
        #expect(saved.status == 200 && (saved.json["content"] as? String)?.isEmpty == false, "the app has the content")
        #expect(try ids(a).isEmpty && ids(b).isEmpty, "gone from both replicas' lists")
    }

    @Test func pendingSavesAreResumedByTheirOwnerNotByAnotherLiveReplica() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let store = #"{"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0"}"#
        let config = saveConfig(upstream: app.url, dir: dir, wait: "250ms", store: store)
            .replacingOccurrences(of: #""backoff": "100ms""#, with: #""backoff": "10s""#)
        let a = try RampartProcess(config: config, environment: ["RAMPART_INSTANCE": "a"])
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 503}"#)
        let status = json(try lastEvent(generate(a.port, chapter: "p9")).1)
        let id = try #require(status["save_id"] as? String)
        #expect(status["pending"] as? Bool == true)
        a.child.signal(SIGKILL)
        _ = try a.child.waitForExit()
        try app.control("DELETE", "/_demo/faults")

        // B starts: the pending save is young and A's, so B leaves it (A may still be running it).
        // B picks what it resumes before it logs "rampart listening", and logs each one it resumes.
        let b = try RampartProcess(config: config, environment: ["RAMPART_INSTANCE": "b"])
        #expect(try ids(b) == [id])

        // A comes back under its name and resumes its own pending save.
        let again = try RampartProcess(config: config, environment: ["RAMPART_INSTANCE": "a"])
        try eventually { (try? HTTPClient.request(port: app.port, path: "/api/chapters/p9/content"))?.status == 200 }
        try eventually { (try? ids(again))?.isEmpty == true }
        _ = try again.child.waitForLine(containing: "pending save resumed")
        #expect(try ids(b).isEmpty)
        // By now a replay B had started at its own (earlier) start would have ended and been logged.
        #expect(!b.child.lines.contains { $0.contains("pending save resumed") }, "B resumed A's young save: \(b.child.lines)")
    }
}
