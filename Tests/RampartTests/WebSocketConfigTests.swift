import Testing
@testable import RampartProxy
@testable import Rampart
import RampartTransport

/// SPEC §11.6: a route's `websocket` switch and its limits; mistakes fail at start with their path.
@Suite struct WebSocketConfigTests {
    static func route(_ members: String) throws -> RouteConfig {
        try ConfigFixture.load(ConfigFixture.app(#""routes": [{"name": "live", "match": {"path_prefix": "/ws/"}, "# + members + "}]")).routes[0]
    }

    @Test func trueTakesTheDefaultsAndFalseOrAbsentIsOff() throws {
        let on = try #require(try Self.route(#""websocket": true"#).websocket)
        #expect(on == WebSocketConfig())
        #expect(on.maxMessageBytes == 1_048_576 && on.idle == .seconds(60) && on.pingInterval == .seconds(20))
        #expect(on.maxSession == .seconds(3600) && on.maxPerUser == 16 && on.allowOrigins == nil)
        #expect(try Self.route(#""websocket": false"#).websocket == nil)
        #expect(try Self.route(#""auth": "optional""#).websocket == nil)
    }

    @Test func everyKeyIsRead() throws {
        let ws = try #require(try Self.route(#"""
            "websocket": {"allow_origins": ["https://a.example"], "max_message_bytes": 4096, "idle": "30s",
                          "ping_interval": "10s", "max_session": "15m", "max_per_user": 3}
            """#).websocket)
        #expect(ws.allowOrigins == ["https://a.example"] && ws.maxMessageBytes == 4096 && ws.idle == .seconds(30))
        #expect(ws.pingInterval == .seconds(10) && ws.maxSession == .seconds(900) && ws.maxPerUser == 3)
        let realtime = try Self.route(#""websocket": true, "format": "openai-realtime""#)
        #expect(realtime.realtime && realtime.format == nil)
    }

    @Test func mistakesFailWithTheirPath() {
        func errors(_ members: String) -> [String] {
            ConfigFixture.errors(ConfigFixture.app(#""routes": [{"name": "live", "match": {"path_prefix": "/ws/"}, "# + members + "}]"))
        }
        #expect(errors(#""websocket": {"idel": "30s"}"#).contains { $0.contains("routes[0].websocket.idel") })
        #expect(errors(#""websocket": {"max_message_bytes": 0}"#).contains { $0.contains("routes[0].websocket.max_message_bytes") })
        #expect(errors(#""websocket": {"idle": "10s", "ping_interval": "10s"}"#).contains { $0.contains("routes[0].websocket.ping_interval") })
        #expect(errors(#""websocket": "yes""#).contains { $0.contains("routes[0].websocket") })
    }
}

/// SPEC §11.7: `server.http2` and its limits.
@Suite struct HTTP2ConfigTests {
    @Test func enabledTakesTheDefaultsAndEveryKeyIsRead() throws {
        #expect(try ConfigFixture.load(ConfigFixture.app()).server.http2 == nil, "off unless asked for")
        let on = try ConfigFixture.load(ConfigFixture.app(#""server": {"listen": "127.0.0.1:0", "http2": {"enabled": true}}"#)).server.http2
        #expect(on == HTTP2Settings())
        #expect(on?.h2c == false && on?.maxConcurrentStreams == 100 && on?.maxHeaderListBytes == 16384 && on?.maxResetsPer10s == 200)
        let set = try ConfigFixture.load(ConfigFixture.app(#"""
            "server": {"listen": "127.0.0.1:0", "http2": {"enabled": true, "h2c": true, "max_concurrent_streams": 10,
                                                           "max_header_list_bytes": 4096, "max_resets_per_10s": 50}}
            """#)).server.http2
        #expect(set?.h2c == true && set?.maxConcurrentStreams == 10 && set?.maxHeaderListBytes == 4096 && set?.maxResetsPer10s == 50)
        #expect(try ConfigFixture.load(ConfigFixture.app(#""server": {"listen": "127.0.0.1:0", "http2": {"enabled": false}}"#)).server.http2 == nil)
    }

    @Test func mistakesFailWithTheirPath() {
        let errors = ConfigFixture.errors(ConfigFixture.app(#""server": {"listen": "127.0.0.1:0", "http2": {"enabled": true, "max_streams": 5, "max_concurrent_streams": 0}}"#))
        #expect(errors.contains { $0.contains("server.http2.max_streams") }, "\(errors)")
        #expect(errors.contains { $0.contains("server.http2.max_concurrent_streams") }, "\(errors)")
    }
}

/// SPEC §11.10: `tracing`.
@Suite struct TracingConfigTests {
    @Test func keysAreReadAndMistakesNamed() throws {
        #expect(try ConfigFixture.load(ConfigFixture.app()).tracing == nil)
        let t = try #require(try ConfigFixture.load(ConfigFixture.app(
            #""tracing": {"otlp_endpoint": "http://otel:4318/v1/traces", "sample_ratio": 0.25, "service_name": "edge"}"#)).tracing)
        #expect(t.otlpEndpoint == "http://otel:4318/v1/traces" && t.sampleRatio == 0.25 && t.serviceName == "edge")
        let errors = ConfigFixture.errors(ConfigFixture.app(#""tracing": {"otlp_endpoint": "otel:4318", "sample_ratio": 2, "servicename": "x"}"#))
        for path in ["tracing.otlp_endpoint", "tracing.sample_ratio", "tracing.servicename"] {
            #expect(errors.contains { $0.contains(path) }, "\(path): \(errors)")
        }
    }
}

/// SPEC §11.8: upstream pools.
@Suite struct UpstreamPoolConfigTests {
    @Test func serversBalanceAndHealthAreRead() throws {
        let c = try ConfigFixture.load(#"""
            {"upstreams": {"app": {"servers": [{"url": "http://10.0.0.1:3000", "weight": 3}, {"url": "http://10.0.0.2:3000"}],
                                   "balance": "least_requests", "passive_health": {"consecutive_failures": 3, "cooldown": "10s"},
                                   "health_check": {"path": "/up", "interval": "2s", "timeout": "500ms", "unhealthy_after": 2, "healthy_after": 1}}}}
            """#)
        let u = try #require(c.upstreams["app"])
        #expect(u.servers.map(\.url) == ["http://10.0.0.1:3000", "http://10.0.0.2:3000"] && u.servers.map(\.weight) == [3, 1])
        #expect(u.pool.balance == .leastRequests && u.pool.consecutiveFailures == 3 && u.pool.cooldown == .seconds(10))
        #expect(u.pool.healthCheck?.path == "/up" && u.pool.healthCheck?.interval == .seconds(2) && u.pool.healthCheck?.unhealthyAfter == 2)
        #expect(try ConfigFixture.load(ConfigFixture.app()).upstreams["app"]?.servers.count == 1, "one url is a pool of one")
    }

    @Test func mistakesFailWithTheirPath() {
        let errors = ConfigFixture.errors(#"""
            {"upstreams": {"app": {"url": "http://a:1", "servers": [{"url": "http://a:1"}, {"url": "https://b:2"}, {"url": "http://c:3", "weight": 0}],
                                   "balance": "random", "health_check": {"path": "up"}}}}
            """#)
        for path in ["upstreams.app.servers", "upstreams.app.servers[1].url", "upstreams.app.servers[2].weight", "upstreams.app.balance",
                     "upstreams.app.health_check.path"] {
            #expect(errors.contains { $0.contains(path) }, "\(path): \(errors)")
        }
    }
}
