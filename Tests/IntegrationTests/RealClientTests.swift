import Foundation
import Testing

/// The official Anthropic SDK and a browser-style SSE client read a `stream_save` route: the SDK's
/// stream completes without error, and the EventSource-style parser sees `save_status`.
@Suite(.serialized) struct RealClientTests {
    @Test func anthropicSDKAndEventSourceReadConfirmedStreams() throws {
        let python = Binaries.repoRoot + "/.venv/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("the test venv is missing: `make test` installs anthropic, httpx and httpx-sse into .venv")
            return
        }
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-sdk-" + UUID().uuidString
        let rampart = try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 2},
              "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
              "store": {"kind": "memory", "dir": "\(dir)"},
              "upstreams": {"app": {"url": "\(app.url)"}},
              "routes": [{"name": "messages", "match": {"methods": ["POST"], "path": "/v1/messages"},
                          "stream_save": {"format": "anthropic", "save": {"method": "PUT", "url": "/api/chapters/{request_id}/content",
                                                                          "body": {"content": "{content}"}, "attempts": 2, "backoff": "100ms"}}}]
            }
            """)
        let script = """
        import sys, anthropic, httpx
        from httpx_sse import connect_sse
        base = sys.argv[1]
        client = anthropic.Anthropic(base_url=base, api_key="test-key", max_retries=0)
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Write."}]) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        print("SDK_OK", len(text) > 0, final.stop_reason)
        with httpx.Client() as c:
            with connect_sse(c, "POST", base + "/v1/messages", json={"model": "claude-sonnet-4-5", "stream": True, "max_tokens": 64,
                                                                    "messages": [{"role": "user", "content": "Write."}]}) as source:
                events = [(e.event, e.data) for e in source.iter_sse()]
        last = events[-1]
        print("LAST_EVENT", last[0], last[1])
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, "http://127.0.0.1:\(rampart.port)"]
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("SDK_OK True end_turn"), "\(text)")
        #expect(text.contains("LAST_EVENT save_status {\"type\":\"save_status\",\"success\":true"), "\(text)")
    }
}
