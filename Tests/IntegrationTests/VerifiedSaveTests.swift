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
        return (printedJSON("TEXT", in: out) as? String ?? "", printedJSON("SAVE_STATUS", in: out) as? [String: Any] ?? [:])
    }

    static func saved(_ app: DemoApp, _ chapter: String) -> String? { app.savedContent(chapter) }

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
        let entry = try rampart.admin("GET", "/admin/saves/\(id)").text
        #expect(entry.contains(#""details":[{"field":"price""#) && entry.contains(#""content":"```json"#), "the reviewer sees why and what: \(entry)")
        let retry = try HTTPClient.request(port: rampart.port, method: "POST", path: "/_rampart/saves/\(id)/retry")
        #expect(retry.status == 403, "\(retry.status) \(String(decoding: retry.body, as: UTF8.self))")
        #expect(Self.saved(app, "q2") == nil)

        // After review an operator replays it, and it is stored.
        let replay = try rampart.admin("POST", "/admin/saves/\(id)/replay")
        #expect(replay.status == 200, "\(replay.text)")
        try eventually(timeout: 20, "the reviewed save lands on the app") { Self.saved(app, "q2") == bad }
        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(metrics.contains("rampart_stream_saves_total{route=\"quotes\",result=\"invalid_output\"} 1"), "\(metrics)")
    }
}

/// A non-streaming answer on a save route (SPEC §11.13) is saved the same way; with no stream to
/// carry `save_status`, the answer waits for the outcome and says it in `X-Rampart-Save`.
@Suite(.serialized) struct JSONAnswerSaveTests {
    static let script = """
    import sys, json, signal, anthropic, openai
    signal.alarm(60)
    base, chapter, sdk, says = sys.argv[1:5]
    if sdk == "anthropic":
        raw = anthropic.Anthropic(base_url=base, api_key="k", max_retries=0).messages.with_raw_response.create(
            model="say:" + says, max_tokens=64, messages=[{"role": "user", "content": "Quote it."}], extra_headers={"X-Chapter-Id": chapter})
        text = raw.parse().content[0].text
    else:
        raw = openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0).chat.completions.with_raw_response.create(
            model="say:" + says, messages=[{"role": "user", "content": "Quote it."}], extra_headers={"X-Chapter-Id": chapter})
        text = raw.parse().choices[0].message.content
    print("TEXT", json.dumps(text))
    print("SAVE", raw.headers.get("x-rampart-save"))
    """

    static func call(_ rampart: RampartProcess, sdk: String, chapter: String, says: String) throws -> (text: String, save: String) {
        let (exit, out) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)", chapter, sdk, says])
        guard exit == 0 else { throw TestFailure("the SDK failed: \(out)") }
        let lines = out.split(separator: "\n")
        let text = lines.first { $0.hasPrefix("TEXT ") }.flatMap {
            try? JSONSerialization.jsonObject(with: Data($0.dropFirst(5).utf8), options: .fragmentsAllowed) as? String
        } ?? ""
        return (text, lines.first { $0.hasPrefix("SAVE ") }.map { String($0.dropFirst(5)) } ?? "")
    }

    @Test func jsonAnswersAreCheckedSavedAndSayHowInAHeader() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-jsonsave-" + UUID().uuidString
        let config = VerifiedSaveTests.config(provider: provider.url, app: app.url, dir: dir)
            .replacingOccurrences(of: #""routes": ["#, with: #""routes": [{"name": "chat", "match": {"methods": ["POST"], "path": "/v1/chat/completions"}, "upstream": "provider", "format": "openai", "stream_save": {"save": {"upstream": "app", "method": "PUT", "url": "/api/chapters/{header.X-Chapter-Id}/content", "body": {"content": "{content}"}, "attempts": 1}}},"#)
        let rampart = try RampartProcess(config: config)

        let good = "```json\n{\"price\": 3, \"qty\": 1}\n```"
        let ok = try Self.call(rampart, sdk: "anthropic", chapter: "j1", says: good)
        #expect(ok.text == good && ok.save == "ok", "\(ok)")
        #expect(VerifiedSaveTests.saved(app, "j1") == good, "saved before the answer went out")

        let bad = "```json\n{\"qty\": 0}\n```"
        let refused = try Self.call(rampart, sdk: "anthropic", chapter: "j2", says: bad)
        #expect(refused.text == bad, "the client still gets the answer")
        #expect(refused.save.hasPrefix("invalid_output; save_id="), "\(refused)")
        #expect(VerifiedSaveTests.saved(app, "j2") == nil)

        let plain = try Self.call(rampart, sdk: "openai", chapter: "j3", says: "Any prose at all.")
        #expect(plain.text == "Any prose at all." && plain.save == "ok", "\(plain)")
        #expect(VerifiedSaveTests.saved(app, "j3") == "Any prose at all.")

        // The app fails: the answer still arrives, saying the save failed and where it was journaled.
        try app.control("POST", "/_demo/faults", body: #"{"path_prefix": "/api/chapters/j4", "times": -1, "status": 500}"#)
        let failed = try Self.call(rampart, sdk: "openai", chapter: "j4", says: "Keep me.")
        #expect(failed.text == "Keep me." && failed.save.hasPrefix("failed; save_id="), "\(failed)")
        let id = String(failed.save.dropFirst("failed; save_id=".count))
        #expect(try rampart.admin("GET", "/admin/saves").text.contains(id))
    }

    /// A client that leaves while its JSON answer is still coming: with `continue_on_disconnect`
    /// (the default) the answer is read to its end and saved all the same.
    @Test func aJSONAnswerIsSavedAfterItsClientLeft() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-jsonsave-" + UUID().uuidString
        let rampart = try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 1},
              "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
              "store": {"kind": "memory", "dir": "\(dir)"},
              "upstreams": {"provider": {"url": "\(provider.url)"}, "app": {"url": "\(app.url)"}},
              "routes": [{"name": "quotes", "match": {"path": "/v1/messages"}, "upstream": "provider", "format": "anthropic",
                          "stream_save": {"save": {"upstream": "app", "method": "PUT", "url": "/api/chapters/{header.X-Chapter-Id}/content",
                                                   "body": {"content": "{content}"}}}}]
            }
            """)
        let body = #"{"model": "slowbody-3000", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}"#
        do {
            let client = try HTTPClient(port: rampart.port)
            try client.send(HTTPClient.requestText(method: "POST", path: "/v1/messages", body: Array(body.utf8),
                                                   headers: ["Content-Type": "application/json", "X-Chapter-Id": "gone"]))
            try eventually(timeout: 20, "the answer's head reached Rampart") {
                try rampart.admin("GET", "/metrics").text.contains(#"rampart_upstream_duration_seconds_count{upstream="provider"} 1"#)
            }
        }   // the client hangs up while the answer's body is still coming (the provider holds it 3 s)
        try eventually(timeout: 30, "the answer is saved without its client") {
            VerifiedSaveTests.saved(app, "gone") == "Hello from the fake provider."
        }
    }
}
