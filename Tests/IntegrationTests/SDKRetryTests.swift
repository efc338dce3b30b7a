import Foundation
import Testing

/// One request, one decision (SPEC §11.4), seen through the official SDKs in front of the fake
/// provider: an SDK's own retries are not multiplied by Rampart's, the breaker counts client
/// requests rather than attempts, and an upstream without a `circuit_breaker` block still has a
/// breaker ops can force.
@Suite(.serialized) struct SDKRetryTests {
    /// The provider behind an upstream with no breaker block, whose retry policy would retry an
    /// SDK's POST three times on 503 and 529 (what multiplied 3 SDK tries into 9 calls before).
    func gateway(_ provider: FakeProvider) throws -> RampartProcess {
        let dir = NSTemporaryDirectory() + "rampart-sdkretry-" + UUID().uuidString
        return try RampartProcess(config: """
            {
              "server": {"listen": "127.0.0.1:0", "workers": 2},
              "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
              "store": {"kind": "memory", "dir": "\(dir)"},
              "upstreams": {"llm": {"url": "\(provider.url)",
                                    "retry": {"attempts": 3, "backoff": "50ms", "max_backoff": "100ms",
                                              "on": ["connect", "503", "529"], "methods": ["POST"]}}},
              "routes": [{"name": "llm", "upstream": "llm", "match": {"path_prefix": "/v1/"}, "scrub_errors": false}]
            }
            """)
    }

    /// Runs one SDK call with the SDK's defaults (2 retries) and an httpx hook counting its
    /// attempts; prints `OK <text>` or `ERROR <status> <attempts>`.
    func callWithDefaultRetries(sdk: String, model: String, port: UInt16) throws -> String {
        let call = sdk == "anthropic"
            ? #"anthropic.Anthropic(base_url=url, api_key="k", http_client=http).messages.create(model=model, max_tokens=16, messages=[{"role": "user", "content": "Hi"}]).content[0].text"#
            : #"openai.OpenAI(base_url=url + "/v1", api_key="k", http_client=http).chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}]).choices[0].message.content"#
        let script = """
        import sys, signal, \(sdk)
        signal.alarm(60)   # an SDK sleeping far longer than its backoff is a failure, not a hang
        try:
            import httpx2 as hx   # the SDKs' own HTTP client in recent versions
        except ImportError:
            import httpx as hx
        url, model = sys.argv[1], sys.argv[2]
        attempts = []
        http = hx.Client(event_hooks={"request": [lambda r: attempts.append(1)]})
        try:
            print("OK", \(call))
        except \(sdk).APIStatusError as e:
            print("ERROR", e.status_code, len(attempts))
        """
        let (status, text) = try runPython("-c", [script, "http://127.0.0.1:\(port)", model])
        #expect(status == 0, "\(text)")
        return text.split(separator: "\n").last.map(String.init) ?? text
    }

    func breaker(_ rampart: RampartProcess, _ name: String) throws -> [String: Any]? {
        (try rampart.admin("GET", "/admin/breakers").json["breakers"] as? [String: Any])?[name] as? [String: Any]
    }

    /// Each SDK against a provider answering an overload (Anthropic 529 `overloaded_error`, OpenAI
    /// 503): the SDK tries 3 times; Rampart retries only its first try (counter 0), so the provider
    /// sees 3 + 1 + 1 calls, not 3 × 3, and the breaker counts 3 failed requests, not 5 attempts.
    @Test(arguments: [("anthropic", 529), ("openai", 503)])
    func sdkRetriesAreNotMultiplied(sdk: String, status: Int) throws {
        let provider = try FakeProvider()
        let rampart = try gateway(provider)
        let result = try callWithDefaultRetries(sdk: sdk, model: "status-\(status)", port: rampart.port)
        #expect(result == "ERROR \(status) 3", "the SDK raises the provider's \(status) after its own 3 attempts: \(result)")
        try expectOneDecisionPerRequest(provider, rampart, requests: 3)
    }

    /// What the provider and the breaker saw for one SDK call of `requests` tries: Rampart's three
    /// attempts on the first try only, then one per SDK retry; one breaker failure per try.
    func expectOneDecisionPerRequest(_ provider: FakeProvider, _ rampart: RampartProcess, requests: Int) throws {
        let calls = try provider.calls()
        let counters = calls.headers.map { $0["x-stainless-retry-count"] ?? "-" }
        #expect(calls.count == 3 + (requests - 1), "not \(3 * requests) calls: \(counters)")
        #expect(counters == ["0", "0", "0"] + (1..<requests).map(String.init), "\(counters)")
        let llm = try #require(try breaker(rampart, "llm"), "an upstream without a circuit_breaker block has a breaker")
        #expect(llm["window_failures"] as? Int == requests, "one event per client request: \(llm)")
        #expect(llm["consecutive_failures"] as? Int == requests && llm["state"] as? String == "closed", "\(llm)")
        try eventually { try rampart.admin("GET", "/metrics").text.contains("rampart_upstream_retries_total{upstream=\"llm\"} 2") }
    }

    /// Ops force the breaker of an upstream that has no `circuit_breaker` block: open, the SDK
    /// gets 503 `CIRCUIT_OPEN` and nothing reaches the provider; closed, the call goes through.
    @Test func opsForceTheBreakerOfAnUpstreamWithoutABlock() throws {
        let provider = try FakeProvider()
        let rampart = try gateway(provider)
        let script = """
        import sys, signal, openai
        signal.alarm(60)
        client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="k", max_retries=0)
        try:
            r = client.chat.completions.create(model="ok", messages=[{"role": "user", "content": "Hi"}])
            print("OK", r.choices[0].message.content)
        except openai.APIStatusError as e:
            print("ERROR", e.status_code, e.response.json()["error"]["code"], e.response.headers.get("retry-after"))
        """
        let url = "http://127.0.0.1:\(rampart.port)"

        let opened = try rampart.admin("POST", "/admin/breakers/llm/open")
        #expect(opened.status == 200, "not 404 for an upstream without a circuit_breaker block: \(opened.text)")
        #expect((opened.json["breaker"] as? [String: Any])?["state"] as? String == "open")
        let refused = try runPython("-c", [script, url])
        // Retry-After is the cooldown left of the default 30 s: 30 at the moment it opened, less by
        // the time the SDK took to start (never assumed to be under a second).
        let words = refused.1.split(separator: "\n").first { $0.hasPrefix("ERROR ") }?.split(separator: " ") ?? []
        #expect(words.count == 4 && words[1] == "503" && words[2] == "CIRCUIT_OPEN", "refused fast: \(refused.1)")
        let retryAfter = words.count == 4 ? Int(words[3]) ?? 0 : 0
        #expect(retryAfter > 15 && retryAfter <= 30, "Retry-After = the default cooldown left: \(refused.1)")
        #expect(try provider.calls().count == 0, "nothing reached the provider while open")

        let closed = try rampart.admin("POST", "/admin/breakers/llm/close")
        #expect(closed.status == 200 && (closed.json["breaker"] as? [String: Any])?["forced"] as? Bool == true)
        let answered = try runPython("-c", [script, url])
        #expect(answered.1.contains("OK Hello from the fake provider."), "\(answered.1)")
        #expect(try provider.calls().count == 1)
        #expect(try rampart.admin("POST", "/admin/breakers/llm/reset").status == 200)
        #expect(try breaker(rampart, "llm")?["forced"] as? Bool == false)
        #expect(try rampart.admin("POST", "/admin/breakers/nope/open").status == 404, "a name that is no upstream is still 404")
    }
}
