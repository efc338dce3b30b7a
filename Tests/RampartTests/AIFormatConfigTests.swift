import Testing
@testable import RampartProxy
@testable import Rampart

/// SPEC §11.1: `format` marks an AI route; truncation and saves default to it, and error scrubbing
/// keeps the provider's errors there unless the route asks for full scrubbing.
@Suite struct AIFormatConfigTests {
    static func route(_ members: String) throws -> RouteConfig {
        let config = try ConfigFixture.load(ConfigFixture.app(#""routes": [{"name": "ai", "match": {"path": "/v1/messages"}, "# + members + "}]"))
        return config.routes[0]
    }

    @Test func formatDefaultsTruncationAndSaves() throws {
        let r = try Self.route(#""format": "openai", "truncate": {"budget_tokens": 100}, "stream_save": {"save": {"url": "/s"}}"#)
        #expect(r.format == .openai)
        #expect(r.truncate?.format == .openai)
        #expect(r.streamSave?.format == .openai)
        #expect(r.scrubErrors == false, "provider errors keep their shape on an AI route")
    }

    @Test func explicitKeysStillWin() throws {
        let r = try Self.route(#""format": "anthropic", "scrub_errors": true, "stream_save": {"format": "text", "save": {"url": "/s"}}"#)
        #expect(r.streamSave?.format == .text)
        #expect(r.scrubErrors == true)
        #expect(try Self.route("\"format\": \"anthropic\"").scrubErrors == false)
        #expect(try Self.route("\"auth\": \"optional\"").scrubErrors == true, "other routes scrub by default, as before")
    }

    @Test func badFormatsFailWithTheirPath() {
        let base = #""routes": [{"name": "ai", "match": {"path": "/v1/messages"}, "format": "#
        let unknown = ConfigFixture.errors(ConfigFixture.app(base + #""gemini"}]"#))
        #expect(unknown.contains { $0.contains("routes[0].format") }, "\(unknown)")
        let realtime = ConfigFixture.errors(ConfigFixture.app(base + #""openai-realtime"}]"#))
        #expect(realtime.contains { $0.contains("routes[0].format") && $0.contains("WebSocket") }, "\(realtime)")
        let noFormat = ConfigFixture.errors(ConfigFixture.app(#""routes": [{"name": "r", "match": {"path": "/x"}, "truncate": {"budget_tokens": 5}}]"#))
        #expect(noFormat.contains { $0.contains("routes[0].truncate.format") }, "a route without format still needs truncate.format: \(noFormat)")
    }

    @Test func onlyJSONWithoutStackTracesPassesAsAProviderError() {
        #expect(ErrorScrubber.isProviderError(Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8)))
        #expect(!ErrorScrubber.isProviderError(Array("Internal Server Error".utf8)))
        #expect(!ErrorScrubber.isProviderError(Array(#"{"error":"boom","stack":"Error: boom\n    at handler (/srv/app.js:10:5)"}"#.utf8)))
        #expect(!ErrorScrubber.isProviderError(Array(#"{"detail":"Traceback (most recent call last):\n  File \"/srv/x.py\", line 3"}"#.utf8)))
        #expect(!ErrorScrubber.isProviderError(Array("[1,2]".utf8)))
    }
}
