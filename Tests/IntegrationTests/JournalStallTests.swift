import Foundation
import Glibc
import RampartLoop
import Testing

/// Issue 23 point 3: a journal write that waits (Redis frozen mid-append here; a slow disk is the
/// same) never stalls the event loop. With one worker, a plain request and readiness are answered
/// while a failed save's journal entry is still waiting for Redis, and that stream's
/// `save_status` comes only once the entry is durable (in the local file once Redis times out);
/// both saves are listed once Redis is back.
@Suite(.serialized) struct JournalStallTests {
    let dir = NSTemporaryDirectory() + "rampart-stall-" + UUID().uuidString

    @Test func aWaitingJournalWriteLeavesTheLoopServing() throws {
        let app = try DemoApp()
        let redis = try RedisServer()
        let store = #"{"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0", "dir": "\#(dir)"}"#
        let config = saveConfig(upstream: app.url, dir: dir, store: store).replacingOccurrences(of: #""workers": 2"#, with: #""workers": 1"#)
        let rampart = try RampartProcess(config: config)
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        // One save journaled through Redis first, so the journal's connection is open when Redis freezes.
        #expect(json(try lastEvent(generate(rampart.port, chapter: "warm")).1)["save_id"] is String)

        let before = try app.requestCount()
        redis.child?.signal(SIGSTOP)
        defer { redis.child?.signal(SIGCONT) }
        let finished = Lock<String?>(nil)   // the stream's last event's data
        let stream = Thread {
            let last = (try? lastEvent(generate(rampart.port, chapter: "stalled")).1) ?? "no event"
            finished.withLock { $0 = last }
        }
        stream.start()
        // The generation and its three save attempts reached the app: the journal append is next,
        // and Redis will not answer it.
        try eventually(timeout: 30, "three failed save attempts") { try app.requestCount() >= before + 4 }
        let plain = try HTTPClient.request(port: rampart.port, path: "/echo/plain")
        let ready = try HTTPClient.request(port: rampart.port, path: "/_rampart/readyz")
        #expect(plain.status == 200, "the loop serves while the journal waits")
        #expect(ready.status == 200 && ready.json["save_journal_depth"] is Int, "readiness reads the cached depth: \(ready.text)")
        #expect(finished.withLock { $0 } == nil, "the stream's save_status waits for its journal entry")

        // Redis times out (2 s): the entry goes to the local file and the client hears its save_id.
        try eventually(timeout: 30, "the stalled stream ends") { finished.withLock { $0 } != nil }
        let status = json(finished.withLock { $0 } ?? "")
        #expect(status["success"] as? Bool == false && status["save_id"] is String, "\(status)")
        redis.child?.signal(SIGCONT)
        let id = try #require(status["save_id"] as? String)
        try eventually(timeout: 30, "both saves listed once Redis is back") {
            let ids = (try rampart.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            return ids.count == 2 && ids.contains(id)
        }
    }
}
