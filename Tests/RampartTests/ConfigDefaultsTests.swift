import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

@Suite struct ConfigDefaultsTests {
    typealias F = ConfigFixture

    @Test func minimalConfigGetsModelDefaults() throws {
        let config = try ConfigLoader.load(path: F.path("valid-minimal.json"), environment: [:])
        #expect(config.server.listen == SocketAddress(host: "0.0.0.0", port: 8080))
        #expect(config.server.workers == 0 && config.server.maxConnections == 10_000 && config.server.drainTimeoutMs == 15_000)
        #expect(config.server.tls == nil && config.server.trustedProxies.isEmpty)
        #expect(config.server.limits.headerBytes == 16384 && config.server.limits.bodyBytes == 1_048_576)
        #expect(config.admin.listen == SocketAddress(host: "127.0.0.1", port: 9901) && config.admin.tokenEnv == nil)
        #expect(config.store.kind == .memory && config.store.dir == "var/rampart")
        #expect(config.identity.jwt == nil && config.identity.anonymous == .ip)
        #expect(config.headers.set.isEmpty && config.headers.mode == .override && config.headers.cors == nil)
        #expect(config.usage.prices.isEmpty && config.logging.level == .info && config.logging.accessLog)
        let app = try #require(config.upstreams["app"])
        #expect(app.timeouts == TimeoutsConfig() && app.retry == nil && app.circuitBreaker == nil && app.maxInFlight == 1024)
        // No routes section: one catch-all route to the only upstream.
        #expect(config.routes.count == 1)
        #expect(config.routes[0].name == "default" && config.routes[0].upstream == "app")
        #expect(config.routes[0].match.path == .prefix("/") && config.routes[0].match.methods == nil)
        #expect(config.hash.count == 64)
    }

    @Test func routeDefaults() throws {
        let config = try F.load(F.route(#"{"name": "r", "match": {"path": "/x"}}"#))
        let route = config.routes[0]
        #expect(route.auth == .optional && route.scrubErrors && route.quotas.isEmpty)
        #expect(route.streamSave == nil && route.truncate == nil && route.validate == nil && route.headers == nil)
        #expect(route.bodyLimit == nil && route.idempotency == nil && route.retry == nil)
        #expect(route.match.path == .exact("/x"))
    }

    @Test func routeTimeoutsAndRetryMergeOverUpstream() throws {
        let json = #"{"upstreams": {"app": {"url": "http://a", "timeouts": {"connect": "1s", "total": "60s"}, "retry": {"attempts": 3, "backoff": "500ms"}}},"#
            + #" "routes": [{"name": "slow", "match": {"path": "/slow"}, "timeouts": {"total": "5m"}, "retry": {"attempts": 1}},"#
            + #" {"name": "rest", "match": {"path_prefix": "/"}}]}"#
        let config = try F.load(json)
        let slow = config.routes[0]
        #expect(slow.timeouts.connect == .seconds(1) && slow.timeouts.total == .seconds(300))
        #expect(slow.timeouts.firstByte == .seconds(30))
        #expect(slow.retry?.attempts == 1 && slow.retry?.backoff == .milliseconds(500))
        let rest = config.routes[1]
        #expect(rest.timeouts == config.upstreams["app"]?.timeouts && rest.retry?.attempts == 3)
        #expect(F.errors(#"{"upstreams": {"app": {"url": "http://a", "retry": {"backoff": "10s"}}}}"#)
            == ["upstreams.app.retry.backoff: max_backoff (8s) is shorter than backoff (10s)"])
    }

    @Test func routeHeadersInheritAndOverrideGlobal() throws {
        let json = F.route(#"{"name": "embed", "match": {"path": "/embed"}, "headers": {"set": {"x-frame-options": "SAMEORIGIN"}}}"#,
                           extra: #""headers": {"set": {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}, "remove": ["Server"]}"#)
        let config = try F.load(json)
        let headers = try #require(config.routes[0].headers)
        #expect(headers.set.map(\.name) == ["X-Content-Type-Options", "x-frame-options"])
        #expect(headers.set.map(\.value) == ["nosniff", "SAMEORIGIN"])
        #expect(headers.remove == ["Server"])
        #expect(config.headers.set.count == 2)
    }

    @Test func fullFixtureDecodesEverySection() throws {
        let config = try ConfigLoader.load(path: F.path("valid-full.json"), environment: F.env)
        #expect(config.server.listen == SocketAddress(host: "::", port: 8443) && config.server.workers == 4)
        #expect(config.server.trustedProxies == [CIDR(address: [10, 0, 0, 0], prefixLength: 8),
                                                 CIDR(address: Array(repeating: 0, count: 15) + [1], prefixLength: 128)])
        #expect(config.server.limits.bodyBytes == 0)
        #expect(config.store.kind == .redis && config.store.onUnavailable == .deny)
        let jwt = try #require(config.identity.jwt)
        #expect(jwt.algorithms == ["HS256"] && jwt.hmacSecretEnv == "JWT_SECRET" && jwt.leeway == .zero && jwt.cookie == "__session")
        #expect(config.identity.anonymous == .reject)
        #expect(config.upstreams["llm"]?.basePath == "/v1" && config.upstreams["llm"]?.circuitBreaker?.window == .seconds(300))
        #expect(config.headers.mode == .ifAbsent && config.headers.cors?.allowMethods == ["GET", "POST"])
        #expect(config.headers.cors?.maxAge == .seconds(600))

        let save = try #require(config.routes[0].streamSave)
        #expect(config.routes[0].match.path == .template([.literal("api"), .literal("books"), .param("bookId"),
                                                          .literal("chapters"), .param("chapterId"), .literal("generate")]))
        #expect(save.format == .custom(event: "delta", pointer: "/text") && save.mode == .verify && save.wait == .zero)
        #expect(save.save.method == "PUT" && save.save.attempts == 3 && save.verify?.pointer == "/content")
        #expect(save.echo.map(\.key) == ["chapterId", "rid"])
        #expect(config.routes[0].quotas.map(\.key) == [.user, .route] && config.routes[0].auth == .required)
        #expect(config.routes[0].idempotency?.ttl == .seconds(86_400))
        #expect(config.routes[0].timeouts.total == .seconds(300) && config.routes[0].retry?.attempts == 2)

        let truncate = try #require(config.routes[1].truncate)
        #expect(truncate.format == .pointer("/input/messages") && truncate.charsPerToken == 3.5)
        #expect(config.routes[1].bodyLimit == 4_194_304 && !config.routes[1].scrubErrors)
        #expect(config.routes[1].timeouts.firstByte == .seconds(60))

        #expect(config.routes[2].validate?.trim == true)
        #expect(config.routes[2].headers?.set.first { $0.name == "X-Frame-Options" }?.value == "SAMEORIGIN")
        #expect(config.usage.prices["gpt-4.1"]?.outputPerMtok == 8 && config.usage.budgets[1].key == .route)
        #expect(config.logging.level == .debug && !config.logging.accessLog)
    }

    @Test func shippedGatewayJSONLoads() throws {
        let path = F.repoRoot.appendingPathComponent("gateway.json").path
        // `make run` writes the token file; checking the shipped config needs no secret.
        let config = try ConfigLoader.load(path: path, environment: [:], requireSecrets: false)
        #expect(config.server.listen == SocketAddress(host: "0.0.0.0", port: 8080))
        #expect(config.server.drainDelayMs == 5000 && config.server.drainTimeoutMs == 15000)
        #expect(config.admin.listen == SocketAddress(host: "127.0.0.1", port: 9901) && config.admin.tokenFile == "var/rampart/admin-token")
        #expect(config.admin.metricsListen == SocketAddress(host: "127.0.0.1", port: 9902))
        #expect(config.secrets.map(\.path) == ["admin.token_file"])
        #expect(config.upstreams["app"]?.retry?.on.contains("timeout") == false, "the walkthrough's hung upstream answers after one first_byte")
        #expect(config.upstreams["app"]?.url == "http://127.0.0.1:3000")
        #expect(config.routes.map(\.name) == ["generate-chapter", "chat", "auth", "default"])
        #expect(config.routes[0].auth == .optional && config.routes[0].streamSave?.format == .anthropic)
        #expect(config.routes[1].truncate?.budgetTokens == 8000)
        #expect(config.identity.trustedHeader == "X-User-Id" && config.identity.jwt == nil)
        #expect(config.headers.cors?.allowOrigins == ["http://localhost:8080"])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(config.hash == SHA256.hex(bytes))
        // Without its token file the shipped config must refuse to start (`make run` writes it;
        // the path is swapped here so the test does not depend on whether it ran).
        let missing = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "var/rampart/admin-token", with: "/nonexistent/admin-token")
        #expect(throws: ConfigErrors.self) { try ConfigLoader.parse(json: missing, environment: [:]) }
    }
}
