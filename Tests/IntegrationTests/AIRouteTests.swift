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

/// SPEC §11.2: usage is always counted on AI routes. An OpenAI stream whose client did not ask for
/// usage is asked for it upstream and shown to the client as if nothing changed; a response that
/// reports nothing is charged an estimate.
@Suite(.serialized) struct AIUsageTests {
    @Test func anOpenAIStreamIsCountedWithoutTheClientSeeingTheUsageChunk() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: AIRouteTests.config(provider))
        let body = #"{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#
        let direct = try HTTPClient.request(port: provider.port, method: "POST", path: "/v1/chat/completions", body: Array(body.utf8),
                                            headers: ["Content-Type": "application/json"])
        let proxied = try HTTPClient.request(port: rampart.port, method: "POST", path: "/v1/chat/completions", body: Array(body.utf8),
                                             headers: ["Content-Type": "application/json"])
        #expect(proxied.status == 200)
        #expect(String(decoding: proxied.body, as: UTF8.self) == String(decoding: direct.body, as: UTF8.self),
                "the client's stream is byte for byte what the provider sends without include_usage")
        let calls = try provider.calls()
        let sent = calls.bodies.last?["stream_options"] as? [String: Any]
        #expect(sent?["include_usage"] as? Bool == true, "Rampart asked the provider for usage: \(calls.bodies)")
        // The SDK sees no usage chunk, and the call is counted all the same.
        let out = try AIRouteTests.sdk(rampart, """
        chunks = list(gpt.chat.completions.create(model="gpt-test", stream=True, messages=[{"role": "user", "content": "Hi"}]))
        print("CHUNKS", len(chunks), "WITH_USAGE", sum(1 for c in chunks if c.usage is not None), "EMPTY", sum(1 for c in chunks if not c.choices))
        asked = list(gpt.chat.completions.create(model="gpt-test", stream=True, stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "Hi"}]))
        print("ASKED", asked[-1].usage.total_tokens if asked[-1].usage else None)
        """)
        #expect(out.contains("WITH_USAGE 0 EMPTY 0"), "\(out)")
        #expect(out.contains("ASKED 18"), "a client that asks still gets its usage chunk: \(out)")
        try eventually(timeout: 20, "three streams counted") {
            let usage = try rampart.admin("GET", "/admin/usage").text
            return usage.contains("\"output_tokens\":18") && usage.contains("\"input_tokens\":36")
        }
        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(!metrics.contains("rampart_ai_usage_estimated_total{route=\"chat\"}"), "real usage, no estimate: \(metrics)")
    }

    @Test func aCallWhoseResponseReportsNothingIsChargedAnEstimate() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: AIRouteTests.config(provider))
        // A stream cut before its usage: the estimate is the request's length and its max_tokens.
        let out = try AIRouteTests.sdk(rampart, """
        try:
            list(gpt.chat.completions.create(model="cut", stream=True, max_completion_tokens=500,
                                             messages=[{"role": "user", "content": "Hi"}]))
        except openai.APIError as e:
            print("RAISED", type(e).__name__)
        """)
        #expect(out.contains("RAISED"), "\(out)")
        try eventually(timeout: 20, "the estimate is charged") {
            try rampart.admin("GET", "/admin/usage").text.contains("\"output_tokens\":500")
        }
        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(metrics.contains("rampart_ai_usage_estimated_total{route=\"chat\"} 1"), "\(metrics)")
    }
}
