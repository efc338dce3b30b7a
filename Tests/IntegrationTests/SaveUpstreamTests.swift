import Foundation
import Glibc
import Testing

/// Saves elsewhere (SPEC §11.5): the route's upstream is the LLM provider itself (the fake one),
/// and `stream_save.save.upstream` sends the save, its retries and replays to the demo app. The
/// official Anthropic SDK drives the route, as an app's backend would.
private func providerRouteConfig(provider: String, app: String, dir: String, wait: String = "10s", backoff: String = "100ms",
                                 mode: String = "save") -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 2},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "store": {"kind": "memory", "dir": "\(dir)"},
      "upstreams": {"provider": {"url": "\(provider)"}, "app": {"url": "\(app)"}},
      "routes": [{"name": "messages", "match": {"methods": ["POST"], "path": "/v1/messages"}, "upstream": "provider",
                  "stream_save": {"format": "anthropic", "mode": "\(mode)",
                                  "verify": {"url": "/api/chapters/{header.X-Chapter-Id}/content", "pointer": "/content"},
                                  "save": {"upstream": "app", "method": "PUT", "url": "/api/chapters/{header.X-Chapter-Id}/content",
                                           "body": {"content": "{content}", "chapterId": "{header.X-Chapter-Id}"},
                                           "attempts": 2, "backoff": "\(backoff)"},
                                  "wait": "\(wait)"}}]
    }
    """
}

/// Streams one message through Rampart with the SDK; prints the text and the `save_status` event
/// (the SDK yields it as one more event whose `type` is `save_status`).
private let streamScript = """
import sys, json, signal, anthropic
signal.alarm(60)   # a stream that never ends fails the test instead of hanging it
client = anthropic.Anthropic(base_url=sys.argv[1], api_key="test-key", max_retries=0)
text, status = "", None
stream = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, stream=True,
                                messages=[{"role": "user", "content": "Write a chapter."}],
                                extra_headers={"X-Chapter-Id": sys.argv[2]})
for event in stream:
    if event.type == "content_block_delta":
        text += event.delta.text
    elif event.type == "save_status":
        status = json.loads(event.to_json(indent=None))
print("TEXT", json.dumps(text))
print("SAVE_STATUS", json.dumps(status))
"""

/// The streamed text and the parsed `save_status` the SDK saw.
private func streamWithSDK(_ rampart: RampartProcess, chapter: String) throws -> (text: String, status: [String: Any]) {
    let (exit, output) = try runPython("-c", [streamScript, "http://127.0.0.1:\(rampart.port)", chapter])
    guard exit == 0 else { throw TestFailure("the SDK failed: \(output)") }
    return (printedJSON("TEXT", in: output) as? String ?? "", printedJSON("SAVE_STATUS", in: output) as? [String: Any] ?? [:])
}

private func savedContent(_ app: DemoApp, _ chapter: String) -> String? { app.savedContent(chapter) }

@Suite(.serialized) struct SaveUpstreamTests {
    let dir = NSTemporaryDirectory() + "rampart-saveup-" + UUID().uuidString

    @Test func anSDKStreamFromTheProviderIsSavedOnTheApp() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let rampart = try RampartProcess(config: providerRouteConfig(provider: provider.url, app: app.url, dir: dir))
        let (text, status) = try streamWithSDK(rampart, chapter: "c1")
        #expect(text == "Hello from the fake provider.", "the provider's stream reaches the SDK whole")
        #expect(status["success"] as? Bool == true && status["attempts"] as? Int == 1, "\(status)")
        #expect(savedContent(app, "c1") == text, "the app holds exactly what streamed")
        let stats = try HTTPClient.request(port: app.port, path: "/_demo/stats").json
        #expect(((stats["last_save_headers"] as? [String: Any])?["idempotency-key"] as? String)?.isEmpty == false)
        #expect(try provider.calls().count == 1, "the provider saw the generation only, no save")
    }

    /// Verify mode: the GET that reads the app's copy goes to the app too (the verify upstream
    /// follows the save's), so a second identical generation is found already saved.
    @Test func theVerifyGETReadsTheAppsCopy() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let rampart = try RampartProcess(config: providerRouteConfig(provider: provider.url, app: app.url, dir: dir, mode: "verify"))
        let first = try streamWithSDK(rampart, chapter: "v1").status
        #expect(first["success"] as? Bool == true && first["verified"] as? Bool == false && first["saved"] as? Bool == true, "\(first)")
        let second = try streamWithSDK(rampart, chapter: "v1").status
        #expect(second["success"] as? Bool == true && second["verified"] as? Bool == true && second["saved"] as? Bool == false, "\(second)")
        #expect(savedContent(app, "v1") == "Hello from the fake provider.")
    }

    /// The app refuses the save: it is journaled for the app, and a replay (by ops, then by the
    /// retry URL's user for a second one) lands on the app, not on the provider.
    @Test func aFailedSaveIsJournaledAndReplayedOnTheApp() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let rampart = try RampartProcess(config: providerRouteConfig(provider: provider.url, app: app.url, dir: dir))
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 500}"#)
        let (text, status) = try streamWithSDK(rampart, chapter: "f1")
        #expect(text == "Hello from the fake provider.")
        #expect(status["success"] as? Bool == false && status["attempts"] as? Int == 2, "\(status)")
        let id = try #require(status["save_id"] as? String)
        let listed = try rampart.admin("GET", "/admin/saves").json["saves"] as? [[String: Any]] ?? []
        #expect(listed.first?["id"] as? String == id && listed.first?["upstream"] as? String == "app", "\(listed)")
        #expect(try rampart.admin("POST", "/admin/saves/\(id)/replay").json["upstream_status"] as? Int == 500,
                "the replay reached the app, which still fails")

        try app.control("DELETE", "/_demo/faults")
        let replay = try rampart.admin("POST", "/admin/saves/\(id)/replay")
        #expect(replay.status == 200 && replay.json["replayed"] as? Bool == true, "\(replay.text)")
        #expect(savedContent(app, "f1") == text)
        #expect(try rampart.admin("GET", "/admin/saves").json["depth"] as? Int == 0)

        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": 2, "status": 503}"#)
        let second = try streamWithSDK(rampart, chapter: "f2").status
        let retryURL = try #require(second["retry_url"] as? String, "\(second)")
        let retry = try HTTPClient.request(port: rampart.port, method: "POST", path: retryURL)
        #expect(retry.status == 200 && retry.json["success"] as? Bool == true, "\(retry.text)")
        #expect(savedContent(app, "f2") == text)
        #expect(try provider.calls().count == 2, "two generations; no save or replay reached the provider")
    }

    /// Killed while a save was pending: the next start sends it to the app. An entry journaled
    /// before entries named their upstream is resumed there too.
    @Test func pendingSavesResumeOnTheAppAtStart() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let config = providerRouteConfig(provider: provider.url, app: app.url, dir: dir, wait: "250ms", backoff: "10s")
        let first = try RampartProcess(config: config)
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/", "times": -1, "status": 503}"#)
        let status = try streamWithSDK(first, chapter: "p1").status
        #expect(status["pending"] as? Bool == true, "\(status)")
        first.child.signal(SIGKILL)
        _ = try first.child.waitForExit()
        let old = #"{"id":"old1","time":1,"owner":"gone","identity":"ip:127.0.0.1","user":null,"route":"messages","reason":"pending","#
            + #""method":"PUT","url":"/api/chapters/p0/content","body":"{\"content\":\"from an old journal\"}","content":"from an old journal"}"#
        let journal = try #require(FileHandle(forWritingAtPath: dir + "/saves.journal"))
        try journal.seekToEnd()
        try journal.write(contentsOf: Data((old + "\n").utf8))
        try journal.close()
        try app.control("DELETE", "/_demo/faults")

        let second = try RampartProcess(config: config)
        try eventually(timeout: 30) { savedContent(app, "p1") == "Hello from the fake provider." }
        try eventually(timeout: 30) { savedContent(app, "p0") == "from an old journal" }
        try eventually(timeout: 30) { (try? second.admin("GET", "/admin/saves"))?.json["depth"] as? Int == 0 }
        #expect(try provider.calls().count == 1, "only the generation reached the provider")
    }
}

extension SaveUpstreamTests {
    /// The same with the official OpenAI SDK on an OpenAI-format route: the text it streamed is
    /// what the app stores (the SDK stops reading at `[DONE]`, so the app's copy is the proof).
    @Test func anOpenAISDKStreamFromTheProviderIsSavedOnTheApp() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let rampart = try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 2},
              "store": {"kind": "memory", "dir": "\(dir)"},
              "upstreams": {"provider": {"url": "\(provider.url)"}, "app": {"url": "\(app.url)"}},
              "routes": [{"name": "chat", "match": {"methods": ["POST"], "path": "/v1/chat/completions"}, "upstream": "provider",
                          "format": "openai",
                          "stream_save": {"save": {"upstream": "app", "method": "PUT", "url": "/api/chapters/{header.X-Chapter-Id}/content",
                                                   "body": {"content": "{content}"}}}}]
            }
            """)
        let script = """
        import sys, signal, openai
        signal.alarm(60)
        client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="k", max_retries=0)
        text = ""
        for c in client.chat.completions.create(model="gpt-test", stream=True, messages=[{"role": "user", "content": "Write."}],
                                                extra_headers={"X-Chapter-Id": "o1"}):
            if c.choices and c.choices[0].delta.content:
                text += c.choices[0].delta.content
        print("TEXT", text)
        """
        let (status, out) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)"])
        #expect(status == 0, "\(out)")
        #expect(out.contains("TEXT Hello from the fake provider."), "\(out)")
        try eventually(timeout: 30, "the app holds what streamed") { savedContent(app, "o1") == "Hello from the fake provider." }
        #expect(try provider.calls().count == 1, "the save went to the app, not the provider")
    }
}
