import Foundation
import Testing

/// Waits an SDK should not sleep through (SPEC §11.3): a 429 whose Retry-After is longer than
/// `server.retry_after_cap` carries `x-should-retry: false`, and the official Anthropic SDK then
/// raises at once instead of retrying into the same wall.
@Suite(.serialized) struct LongWaitTests {
    @Test func anthropicSDKStopsAtALongRateLimitInsteadOfRetrying() throws {
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-longwait-" + UUID().uuidString
        let rampart = try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 1, "retry_after_cap": "60s"},
              "store": {"kind": "memory", "dir": "\(dir)"},
              "upstreams": {"app": {"url": "\(app.url)"}},
              "routes": [{"name": "messages", "match": {"methods": ["POST"], "path": "/v1/messages"},
                          "quotas": [{"limit": 1, "per": "1h", "key": "ip"}]}]
            }
            """)
        // The SDK keeps its default of 2 retries; an httpx hook counts every attempt it makes.
        // Without `x-should-retry: false` it sleeps through the hour-long Retry-After (tried by hand).
        let script = Self.countingHTTP + """
        import anthropic
        client = anthropic.Anthropic(base_url=sys.argv[1], api_key="test-key", http_client=http)
        ask = dict(model="claude-sonnet-4-5", max_tokens=16, messages=[{"role": "user", "content": "Hi"}])
        with client.messages.stream(**ask) as s:
            "".join(s.text_stream)
        print("FIRST_OK", len(attempts))
        attempts.clear()
        try:
            with client.messages.stream(**ask) as s:
                "".join(s.text_stream)
            print("SECOND_OK")
        except anthropic.RateLimitError as e:
            h = e.response.headers
            print("RATE_LIMITED", len(attempts), h.get("retry-after"), h.get("x-should-retry"))
        """
        try Self.expectOneAttemptAtTheWall(script, rampart)
    }
}

extension LongWaitTests {
    /// The same wall for the official OpenAI SDK, which also reads `x-should-retry`.
    @Test func openAISDKStopsAtALongRateLimitInsteadOfRetrying() throws {
        let provider = try FakeProvider()
        let dir = NSTemporaryDirectory() + "rampart-longwait-" + UUID().uuidString
        let rampart = try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 1},
              "store": {"kind": "memory", "dir": "\(dir)"},
              "upstreams": {"llm": {"url": "\(provider.url)"}},
              "routes": [{"name": "chat", "match": {"methods": ["POST"], "path": "/v1/chat/completions"}, "format": "openai",
                          "quotas": [{"limit": 1, "per": "1h", "key": "ip"}]}]
            }
            """)
        let script = Self.countingHTTP + """
        import openai
        client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="test-key", http_client=http)
        ask = dict(model="gpt-test", messages=[{"role": "user", "content": "Hi"}])
        client.chat.completions.create(**ask)
        print("FIRST_OK", len(attempts))
        attempts.clear()
        try:
            client.chat.completions.create(**ask)
            print("SECOND_OK")
        except openai.RateLimitError as e:
            h = e.response.headers
            print("RATE_LIMITED", len(attempts), h.get("retry-after"), h.get("x-should-retry"))
        """
        try Self.expectOneAttemptAtTheWall(script, rampart)
    }

    /// Python: `http`, the SDK's HTTP client with a hook that counts every attempt in `attempts`.
    static let countingHTTP = """
    import sys, signal
    signal.alarm(60)   # without the header the SDK sleeps out the whole Retry-After: fail, do not hang
    try:
        import httpx2 as hx   # the SDKs' own HTTP client in recent versions
    except ImportError:
        import httpx as hx
    attempts = []
    http = hx.Client(event_hooks={"request": [lambda r: attempts.append(1)]})

    """

    /// The script's first call passes; its second meets the long 429 once and raises.
    static func expectOneAttemptAtTheWall(_ script: String, _ rampart: RampartProcess) throws {
        let (status, text) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)"])
        #expect(status == 0, "\(text)")
        #expect(text.contains("FIRST_OK 1"), "\(text)")
        let fields = text.split(separator: "\n").first { $0.hasPrefix("RATE_LIMITED") }?.split(separator: " ") ?? []
        #expect(fields.count == 4, "the second call is refused with 429: \(text)")
        if fields.count == 4 {
            #expect(fields[1] == "1", "the SDK made one attempt, not three: \(text)")
            #expect((Int(fields[2]) ?? 0) > 60, "Retry-After is the quota's long wait: \(text)")
            #expect(fields[3] == "false", "x-should-retry: false: \(text)")
        }
    }
}
