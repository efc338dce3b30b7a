import RampartHTTP
@testable import RampartProxy
import RampartTransport
import Testing
@testable import Rampart

/// Saves elsewhere (SPEC §11.5): a route whose upstream is an LLM provider sends its confirmed
/// saves, verify GETs and replays to the app named by `stream_save.save.upstream`.
@Suite struct SaveUpstreamConfigTests {
    typealias F = ConfigFixture

    /// Two upstreams, the provider with a long total timeout as LLM calls need, the app a short one.
    private func config(save: String, verify: String = "") -> String {
        #"{"upstreams": {"provider": {"url": "https://api.example.com", "timeouts": {"total": "600s"}},"#
            + #" "app": {"url": "http://127.0.0.1:3000/base", "timeouts": {"total": "5s"}}},"#
            + #" "routes": [{"name": "messages", "match": {"path": "/v1/messages"}, "upstream": "provider", "timeouts": {"total": "900s"},"#
            + #" "stream_save": {"format": "anthropic", "save": {"url": "/api/chapters/{request_id}/content"\#(save)}\#(verify)}}]}"#
    }

    @Test func saveAndVerifyUpstreamsDecode() throws {
        let named = try F.load(config(save: #", "upstream": "app""#))
        #expect(named.routes[0].streamSave?.save.upstream == "app")
        #expect(named.routes[0].saveUpstream == "app" && named.routes[0].verifyUpstream == "app", "verify follows the save")
        let plain = try F.load(config(save: ""))
        #expect(plain.routes[0].streamSave?.save.upstream == nil)
        #expect(plain.routes[0].saveUpstream == "provider", "without the key saves go to the route's upstream, as before")
        let verify = #", "mode": "verify", "verify": {"url": "/api/chapters/{request_id}/content", "pointer": "/content", "upstream": "provider"}"#
        let both = try F.load(config(save: #", "upstream": "app""#, verify: verify))
        #expect(both.routes[0].streamSave?.verify?.upstream == "provider")
        #expect(both.routes[0].saveUpstream == "app" && both.routes[0].verifyUpstream == "provider")
    }

    @Test func unknownSaveUpstreamFailsWithItsPath() {
        let verify = #", "mode": "verify", "verify": {"url": "/v", "pointer": "/content", "upstream": "ap"}"#
        #expect(F.errors(config(save: #", "upstream": "ap""#, verify: verify)) == [
            #"routes[0].stream_save.save.upstream: no upstream named "ap"; defined: app, provider"#,
            #"routes[0].stream_save.verify.upstream: no upstream named "ap"; defined: app, provider"#,
        ])
        #expect(F.errors(config(save: #", "upstream": """#)) == ["routes[0].stream_save.save.upstream: must not be empty"])
    }

    /// The app's endpoint, base path and own timeouts; the route's timeouts stay with the route's upstream.
    @Test func aSaveTargetUsesItsUpstreamsEndpointAndTimeouts() throws {
        let loaded = try F.load(config(save: #", "upstream": "app""#))
        let route = loaded.routes[0]
        let app = try #require(SaveTarget(upstream: "app", route: route, config: loaded))
        let request = app.request(method: "PUT", path: "/api/chapters/c1/content", headers: HTTPHeaders(), bodyLength: 2)
        #expect(request.endpoint.hostPort == "127.0.0.1:3000" && request.endpoint.scheme == "http")
        #expect(request.target == "/base/api/chapters/c1/content")
        #expect(app.deadlines.totalNs == 5_000_000_000, "the app's own total, not the provider route's 900 s")
        #expect(app.host(clientHost: "gateway.example") == "gateway.example", "an app next door sees the public host")
        let provider = try #require(SaveTarget(upstream: "provider", route: route, config: loaded))
        #expect(provider.deadlines.totalNs == 900_000_000_000, "the route's own upstream keeps the route's timeouts")
        #expect(provider.host(clientHost: "gateway.example") == "api.example.com", "a TLS upstream gets its own name")
        #expect(SaveTarget(upstream: "gone", route: route, config: loaded) == nil)
    }

    /// A journal entry replays on the upstream it names; one written before entries named it (or
    /// naming an upstream since removed) replays where the route saves now.
    @Test func aReplayGoesToTheEntrysUpstreamElseWhereTheRouteSavesNow() throws {
        let loaded = try F.load(config(save: #", "upstream": "app""#))
        let route = loaded.routes[0]
        func entry(_ upstream: String?) throws -> JSONValue {
            let e = SaveJournalEntry(id: "s1", identity: "ip:127.0.0.1", user: nil, route: "messages", reason: "save_failed",
                                     method: "PUT", url: "/api/chapters/s1/content", body: "{}", content: "text", upstream: upstream)
            return try JSONValue.parse(Array(e.jsonLine(now: 0, owner: "a").utf8))
        }
        #expect(SaveReplay.target(of: try entry("provider"), route: route, config: loaded)?.upstream.name == "provider")
        #expect(SaveReplay.target(of: try entry(nil), route: route, config: loaded)?.upstream.name == "app")
        #expect(SaveReplay.target(of: try entry("renamed"), route: route, config: loaded)?.upstream.name == "app")
        let old = try JSONValue.parse(Array(#"{"id":"s0","route":"messages","method":"PUT","url":"/x","body":"{}"}"#.utf8))
        #expect(SaveReplay.target(of: old, route: route, config: loaded)?.upstream.name == "app")
    }
}
