import Foundation
import Testing

/// Token quotas (SPEC §11.2) as the official anthropic SDK meets them, through the real `rampart` to the
/// fake provider (12 input + 6 output = 18 tokens a call): calls are let in while the window's tokens are
/// under the limit, each is charged what the provider reported, and then the SDK raises RateLimitError
/// on a 429 with Retry-After and the RateLimit headers counted in tokens. On Redis, replicas share one total.
@Suite(.serialized) struct TokenQuotaTests {
    /// 50 tokens an hour per caller: three calls (0, 18, 36 used before each) fit, the fourth does not.
    static func config(_ provider: FakeProvider, store: String = #"{"kind": "memory"}"#) -> String {
        testConfig(upstream: provider.url, routes: """
            [{"name": "messages", "match": {"path": "/v1/messages"}, "format": "anthropic",
              "quotas": [{"limit": 50, "per": "1h", "unit": "tokens"}]}]
            """, extraTop: "\"store\": \(store)")
    }

    /// One SDK call (`create` or `stream`): "OK <X-RateLimit-Remaining>" or the 429 as the SDK raised it.
    static func call(_ rampart: RampartProcess, _ mode: String) throws -> String {
        let script = """
        import sys, signal, json, anthropic
        signal.alarm(60)
        claude = anthropic.Anthropic(base_url=sys.argv[1], api_key="k", max_retries=0)
        args = dict(model="ok", max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
        try:
            if sys.argv[2] == "stream":
                with claude.messages.stream(**args) as s:
                    text = "".join(s.text_stream)
                    headers = s.response.headers
            else:
                raw = claude.messages.with_raw_response.create(**args)
                text = raw.parse().content[0].text
                headers = raw.headers
            print("OK", headers.get("x-ratelimit-remaining"), repr(text))
        except anthropic.RateLimitError as e:
            h = e.response.headers
            print("429", json.dumps({k: h.get(k) for k in ["retry-after", "ratelimit", "ratelimit-policy", "x-ratelimit-limit",
                                                          "x-ratelimit-remaining", "x-ratelimit-reset"]}), json.dumps(e.body))
        """
        let (status, text) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)", mode])
        #expect(status == 0, "\(text)")
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The tokens the admin API shows charged to the local caller's token quota (capped at the limit).
    static func used(_ rampart: RampartProcess) -> Int? {
        let q = try? rampart.admin("GET", "/admin/quotas?key=ip:127.0.0.1&route=messages")
        return (q?.json["quotas"] as? [[String: Any]])?.first?["used"] as? Int
    }

    /// The 429 the SDK raised: Retry-After is the wait until the first call's 18 tokens leave the hour
    /// (then 36 < 50), and the RateLimit fields count tokens.
    static func expectRefusal(_ out: String) throws {
        let parts = out.split(separator: " ", maxSplits: 1)
        #expect(parts.first == "429", "the SDK raised RateLimitError: \(out)")
        guard parts.count == 2, let brace = parts[1].range(of: "} ") else { Issue.record("unexpected output: \(out)"); return }
        let headers = try JSONSerialization.jsonObject(with: Data(parts[1][..<brace.upperBound].utf8)) as? [String: String] ?? [:]
        let retry = Int(headers["retry-after"] ?? "") ?? 0
        #expect(retry > 3500 && retry <= 3600, "\(headers)")
        #expect(headers["ratelimit-policy"] == #""messages";q=50;w=3600"#)
        #expect(headers["ratelimit"] == "\"messages\";r=0;t=\(retry)")
        #expect(headers["x-ratelimit-limit"] == "50" && headers["x-ratelimit-remaining"] == "0")
        #expect(headers["x-ratelimit-reset"] == String(retry))
        #expect(out.contains("RATE_LIMITED") && out.contains("50 tokens per 1h on messages"), "\(out)")
    }

    @Test func callsAreLetInUntilTheWindowsTokensReachTheLimit() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: Self.config(provider))
        // Each call sees the tokens charged before it (remaining 50, 32, 14), streamed or not.
        for (mode, remaining, usedAfter) in [("create", 50, 18), ("stream", 32, 36), ("create", 14, 50)] {
            let out = try Self.call(rampart, mode)
            #expect(out == "OK \(remaining) 'Hello from the fake provider.'", "\(mode): \(out)")
            try eventually(timeout: 20, "\(usedAfter) tokens charged") { Self.used(rampart) == usedAfter }
        }
        try Self.expectRefusal(try Self.call(rampart, "create"))
        try Self.expectRefusal(try Self.call(rampart, "stream"))
        #expect(try provider.calls().count == 3, "refused calls never reach the provider")
        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(metrics.contains("rampart_quota_decisions_total{route=\"messages\",result=\"limited\"} 2"), "\(metrics)")
        // An admin reset gives the caller its tokens back.
        #expect(try rampart.admin("DELETE", "/admin/quotas?key=ip:127.0.0.1&route=messages").status == 200)
        #expect(try Self.call(rampart, "create").hasPrefix("OK 50 "))
    }

    /// Two replicas on one Redis: tokens charged through one refuse calls through the other.
    @Test func twoReplicasOnOneRedisShareTheTokens() throws {
        let provider = try FakeProvider()
        let redis = try RedisServer()
        let store = #"{"kind": "redis", "url": "redis://127.0.0.1:\#(redis.port)/0"}"#
        let a = try RampartProcess(config: Self.config(provider, store: store))
        let b = try RampartProcess(config: Self.config(provider, store: store))
        try eventually { (try? HTTPClient.request(port: a.port, path: "/_rampart/readyz"))?.status == 200 }
        try eventually { (try? HTTPClient.request(port: b.port, path: "/_rampart/readyz"))?.status == 200 }
        for (replica, other, remaining, usedAfter) in [(a, b, 50, 18), (b, a, 32, 36), (a, b, 14, 50)] {
            let out = try Self.call(replica, "create")
            #expect(out.hasPrefix("OK \(remaining) "), "\(out)")
            try eventually(timeout: 20, "the other replica sees \(usedAfter) tokens") { Self.used(other) == usedAfter }
        }
        try Self.expectRefusal(try Self.call(b, "create"))
        try Self.expectRefusal(try Self.call(a, "stream"))
        #expect(try provider.calls().count == 3)
    }
}

extension TokenQuotaTests {
    /// Output tokens the chat route's quota has counted for this machine's calls (nil: no answer).
    static func usedOnChat(_ rampart: RampartProcess) -> Int? {
        let q = try? rampart.admin("GET", "/admin/quotas?key=ip:127.0.0.1&route=chat")
        return (q?.json["quotas"] as? [[String: Any]])?.first?["used"] as? Int
    }

    /// An OpenAI route with a quota of 10 output tokens an hour.
    static let outputQuotaRoute = """
        [{"name": "chat", "match": {"path": "/v1/chat/completions"}, "format": "openai",
          "quotas": [{"limit": 10, "per": "1h", "unit": "tokens", "tokens": "output"}]}]
        """

    /// The OpenAI SDK on an output-token quota, streaming without asking for usage: Rampart asks
    /// for it, charges the 6 output tokens of each call, and the third call meets the 429.
    @Test func openAIStreamsAreChargedTheirOutputTokens() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: testConfig(upstream: provider.url, routes: Self.outputQuotaRoute))
        let script = """
        import sys, signal, openai
        signal.alarm(60)
        gpt = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="k", max_retries=0)
        try:
            text = "".join(c.choices[0].delta.content or "" for c in gpt.chat.completions.create(
                model="gpt-test", stream=True, messages=[{"role": "user", "content": "Hi"}]) if c.choices)
            print("OK", repr(text))
        except openai.RateLimitError as e:
            print("429", e.response.headers.get("retry-after"), e.response.headers.get("x-ratelimit-remaining"))
        """
        func call() throws -> String {
            let (status, out) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)"])
            #expect(status == 0, "\(out)")
            return out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func used() -> Int? { Self.usedOnChat(rampart) }
        #expect(try call() == "OK 'Hello from the fake provider.'")
        try eventually(timeout: 20, "6 output tokens charged") { used() == 6 }
        #expect(try call() == "OK 'Hello from the fake provider.'")
        try eventually(timeout: 20, "12 output tokens charged (shown capped at the limit)") { used() == 10 }
        let refused = try call()
        #expect(refused.hasPrefix("429 ") && refused.hasSuffix(" 0"), "\(refused)")
        #expect(try provider.calls().count == 2)
    }

    /// The SDK hangs up as soon as it reads `data: [DONE]`; when the upstream's last chunk lags
    /// behind it, Rampart sees the client leave before the upstream ends. The usage the stream
    /// reported before [DONE] is final: it is charged (6 output tokens), not the estimate a
    /// stream cut short pays (this request's estimate is 4,096, far over the quota).
    @Test func aStreamLeftAfterItsTerminalEventIsChargedWhatItReported() throws {
        let provider = try FakeProvider()
        let rampart = try RampartProcess(config: testConfig(upstream: provider.url, routes: Self.outputQuotaRoute))
        let script = """
        import sys, signal, openai
        signal.alarm(60)
        gpt = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="k", max_retries=0)
        stream = gpt.chat.completions.create(model="linger-3000", stream=True, messages=[{"role": "user", "content": "Hi"}])
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        stream.close()
        print("OK", repr(text))
        """
        let (status, out) = try runPython("-c", [script, "http://127.0.0.1:\(rampart.port)"])
        #expect(status == 0 && out.contains("OK 'Hello from the fake provider.'"), "\(out)")
        var seen: Int?
        do {
            try eventually(timeout: 20, "the reported 6 output tokens charged") {
                seen = Self.usedOnChat(rampart)
                return seen == 6
            }
        } catch {
            Issue.record("charged \(seen.map(String.init) ?? "nothing"), not the 6 tokens the stream reported")
        }
    }
}
