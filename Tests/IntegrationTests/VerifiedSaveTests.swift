import Foundation
import Testing

/// Saves worth confirming (SPEC §11.13): a model's output is held to the route's schema before it
/// reaches the app; what fails is journaled for ops to review, never saved as is, and never
/// retried by the client.
@Suite(.serialized) struct VerifiedSaveTests {
    static func config(provider: String, app: String, dir: String) -> String {
        """
        {
          "server": {"listen": "127.0.0.1:0", "workers": 2},
          "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
          "store": {"kind": "memory", "dir": "\(dir)"},
          "upstreams": {"provider": {"url": "\(provider)"}, "app": {"url": "\(app)"}},
          "routes": [{"name": "quotes", "match": {"methods": ["POST"], "path": "/v1/messages"}, "upstream": "provider",
                      "format": "anthropic",
                      "stream_save": {"save": {"upstream": "app", "method": "PUT", "url": "/api/chapters/{header.X-Chapter-Id}/content",
                                               "body": {"content": "{content}"}, "attempts": 1},
                                      "validate": {"extract": "fenced_json",
                                                   "schema": {"type": "object", "required": ["price", "qty"],
                                                              "properties": {"price": {"type": "number", "minimum": 0.01},
                                                                             "qty": {"type": "integer", "minimum": 1}}}}}}]
        }
        """
    }

    /// The SDK streams what the model says; prints the text and the `save_status` it saw.
    static let script = """
    import sys, json, signal, anthropic
    signal.alarm(60)
    client = anthropic.Anthropic(base_url=sys.argv[1], api_key="k", max_retries=0)
    text, status = "", None
    for event in client.messages.create(model="say:" + sys.argv[3], max_tokens=64, stream=True,
                                        messages=[{"role": "user", "content": "Quote it."}], extra_headers={"X-Chapter-Id": sys.argv[2]}):
        if event.type == "content_block_delta":
            text += event.delta.text
        elif event.type == "save_status":
            status = json.loads(event.to_json(indent=None))
    print("TEXT", json.dumps(text))
    print("SAVE_STATUS", json.dumps(status))
    """

    static func stream(_ rampart: RampartProcess, chapter: String, says: String) throws -> (text: String, status: [String: Any]) {
        let (exit, out) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)", chapter, says])
        guard exit == 0 else { throw TestFailure("the SDK failed: \(out)") }
        func line(_ tag: String) -> Any? {
            out.split(separator: "\n").first { $0.hasPrefix(tag + " ") }
                .flatMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(tag.count + 1).utf8), options: .fragmentsAllowed) }
        }
        return (line("TEXT") as? String ?? "", line("SAVE_STATUS") as? [String: Any] ?? [:])
    }

    static func saved(_ app: DemoApp, _ chapter: String) -> String? {
        (try? HTTPClient.request(port: app.port, path: "/api/chapters/\(chapter)/content"))?.json["content"] as? String
    }

    @Test func validOutputIsSavedAndInvalidOutputWaitsForReview() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-verified-" + UUID().uuidString
        let rampart = try RampartProcess(config: Self.config(provider: provider.url, app: app.url, dir: dir))

        let good = "Here is the quote:\n```json\n{\"price\": 12.5, \"qty\": 2}\n```\n"
        let ok = try Self.stream(rampart, chapter: "q1", says: good)
        #expect(ok.text == good, "the client's stream is untouched")
        #expect(ok.status["success"] as? Bool == true, "\(ok.status)")
        #expect(Self.saved(app, "q1") == good)

        let bad = "```json\n{\"price\": -4}\n```"
        let refused = try Self.stream(rampart, chapter: "q2", says: bad)
        #expect(refused.text == bad, "the client still sees what the model said")
        #expect(refused.status["success"] as? Bool == false && refused.status["reason"] as? String == "invalid_output", "\(refused.status)")
        let fields = (refused.status["details"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }.sorted()
        #expect(fields == ["price", "qty"], "the same field paths as a 400: \(refused.status)")
        #expect(refused.status["retry_url"] == nil, "not the client's to retry: \(refused.status)")
        #expect(Self.saved(app, "q2") == nil, "nothing invalid reaches the app")

        // Ops see it in the journal with its reason, and the client cannot push it through.
        let id = try #require(refused.status["save_id"] as? String)
        let journal = try rampart.admin("GET", "/admin/saves").text
        #expect(journal.contains(id) && journal.contains("invalid_output"), "\(journal)")
        let retry = try HTTPClient.request(port: rampart.port, method: "POST", path: "/_rampart/saves/\(id)/retry")
        #expect(retry.status == 403, "\(retry.status) \(String(decoding: retry.body, as: UTF8.self))")
        #expect(Self.saved(app, "q2") == nil)

        // After review an operator replays it, and it is stored.
        let replay = try rampart.admin("POST", "/admin/saves/\(id)/replay")
        #expect(replay.status == 200, "\(replay.text)")
        try eventually(timeout: 20, "the reviewed save lands on the app") { Self.saved(app, "q2") == bad }
        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(metrics.contains("rampart_stream_saves_total{result=\"invalid_output\"} 1"), "\(metrics)")
    }
}
