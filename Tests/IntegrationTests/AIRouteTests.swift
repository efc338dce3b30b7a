import Foundation
import Testing

/// AI routes (`format`, SPEC §11.1) as the official SDKs meet them, through the real `rampart` to
/// a fake provider: a stream cut short never reaches an SDK as a short success, and a provider's
/// own error keeps its shape, status and Retry-After for the SDK to back off.
@Suite(.serialized) struct AIRouteTests {
    static func config(_ provider: FakeProvider, save: Bool = false) -> String {
        let saveBlock = save ? #", "stream_save": {"save": {"url": "/saves"}, "wait": "5s"}"# : ""
        return testConfig(upstream: provider.url, routes: """
            [{"name": "messages", "match": {"path": "/v1/messages"}, "format": "anthropic"},
             {"name": "saved", "match": {"path": "/saved/v1/messages"}, "format": "anthropic", "upstream": "app"\(saveBlock)},
             {"name": "chat", "match": {"path": "/v1/chat/completions"}, "format": "openai"}]
            """)
    }

    /// Runs `body` (Python) with `client` an Anthropic or OpenAI client on Rampart, retries off.
    static func sdk(_ rampart: RampartProcess, _ body: String, basePath: String = "") throws -> String {
        let script = """
        import sys, signal, json, anthropic, openai
        signal.alarm(60)
        base = sys.argv[1]
        claude = anthropic.Anthropic(base_url=base + sys.argv[2], api_key="k", max_retries=0)
        gpt = openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0)
        def claude_stream(model):
            try:
                with claude.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]) as s:
                    text = "".join(s.text_stream)
                return "OK " + repr(text)
            except anthropic.APIError as e:
                return "RAISED " + type(e).__name__
        def gpt_stream(model):
            try:
                text = ""
                for c in gpt.chat.completions.create(model=model, stream=True, messages=[{"role": "user", "content": "Hi"}]):
                    if c.choices and c.choices[0].delta.content:
                        text += c.choices[0].delta.content
                return "OK " + repr(text)
            except openai.APIError as e:
                return "RAISED " + type(e).__name__
        \(body)
        """
        let (status, text) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)", basePath])
        #expect(status == 0, "\(text)")
        return text
    }

    @Test func streamsCutShortFailInBothSDKs() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: Self.config(provider))
        let out = try Self.sdk(rampart, """
        for m in ["ok", "no-terminal", "cut"]:
            print("claude", m, claude_stream(m))
            print("gpt", m, gpt_stream(m))
        """)
        #expect(out.contains("claude ok OK 'Hello from the fake provider.'"), "\(out)")
        #expect(out.contains("gpt ok OK 'Hello from the fake provider.'"), "\(out)")
        for sdk in ["claude", "gpt"] {
            for model in ["no-terminal", "cut"] {
                #expect(out.contains("\(sdk) \(model) RAISED"), "\(sdk) must raise on a \(model) stream, not return partial text: \(out)")
            }
        }
        // The access log and the metrics count the clean-but-short streams as incomplete.
        try eventually(timeout: 20, "incomplete streams logged") {
            rampart.accessLog.filter { $0["error"] as? String == "upstream_incomplete" }.count == 2
        }
        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(metrics.contains("rampart_upstream_errors_total{upstream=\"app\",kind=\"stream_incomplete\"} 2"), "\(metrics)")
    }

    @Test func aShortStreamOnASaveRouteFailsInTheSDKAndIsJournaled() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: Self.config(provider, save: true))
        let out = try Self.sdk(rampart, """
        print("claude", claude_stream("no-terminal"))
        print("claude-ok", claude_stream("ok"))
        """, basePath: "/saved")
        #expect(out.contains("claude RAISED"), "\(out)")
        #expect(out.contains("claude-ok OK 'Hello from the fake provider.'"), "\(out)")
        try eventually(timeout: 20, "the short stream is logged as incomplete and journaled") {
            rampart.accessLog.contains { $0["error"] as? String == "upstream_incomplete" && $0["route"] as? String == "saved" }
        }
        let journal = try rampart.admin("GET", "/admin/saves").text
        #expect(journal.contains("upstream_incomplete"), "\(journal)")
    }

    @Test func providerErrorsKeepTheirShapeStatusAndRetryAfter() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: Self.config(provider))
        let out = try Self.sdk(rampart, """
        for name, call in [("claude", lambda m: claude.messages.create(model=m, max_tokens=8, messages=[{"role": "user", "content": "Hi"}])),
                           ("gpt", lambda m: gpt.chat.completions.create(model=m, messages=[{"role": "user", "content": "Hi"}]))]:
            for m in ["status-529-retry-7", "status-503-retry-3", "trace-500"]:
                try:
                    call(m)
                    print(name, m, "NO ERROR")
                except (anthropic.APIStatusError, openai.APIStatusError) as e:
                    body = e.body if isinstance(e.body, dict) else {}
                    err = body.get("error", body)
                    print(name, m, e.status_code, e.response.headers.get("retry-after"), err.get("type"), err.get("code"))
        """)
        // Anthropic's own overload shape and wait reach the SDK, which backs off on them.
        #expect(out.contains("claude status-529-retry-7 529 7 overloaded_error"), "\(out)")
        #expect(out.contains("claude status-503-retry-3 503 3 overloaded_error"), "\(out)")
        #expect(out.contains("gpt status-503-retry-3 503 3 overloaded_error"), "\(out)")
        // A stack trace is still no business of the client's: Rampart's 502.
        #expect(out.contains("claude trace-500 502 None None UPSTREAM_ERROR"), "\(out)")
        #expect(out.contains("gpt trace-500 502 None None UPSTREAM_ERROR"), "\(out)")
    }
}
