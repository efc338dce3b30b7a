import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// Helpers shared by the config tests (namespaced so other test files can't collide with them).
enum ConfigFixture {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let repoRoot = testsDir.deletingLastPathComponent()
    static let env = ["RAMPART_ADMIN_TOKEN": "t0ken", "JWT_SECRET": "s3cret"]

    static func path(_ name: String) -> String { testsDir.appendingPathComponent("Fixtures/configs/\(name)").path }

    /// The error lines of a config (empty when it is valid).
    static func errors(_ json: String, env: [String: String] = env) -> [String] {
        do throws(ConfigErrors) {
            _ = try ConfigLoader.parse(json: json, environment: env)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    /// A config with one upstream "app" plus `extra` top-level members.
    static func app(_ extra: String = "") -> String {
        #"{"upstreams": {"app": {"url": "http://127.0.0.1:3000"}}"# + (extra.isEmpty ? "" : ", " + extra) + "}"
    }

    /// A config whose only route is `route` (a JSON object text).
    static func route(_ route: String, extra: String = "") -> String {
        app(#""routes": ["# + route + "]" + (extra.isEmpty ? "" : ", " + extra))
    }

    static func load(_ json: String, env: [String: String] = env) throws -> GatewayConfig {
        try ConfigLoader.parse(json: json, environment: env)
    }
}

@Suite struct ConfigValidationTests {
    typealias F = ConfigFixture

    @Test func unknownKeyIsReportedWithPathAndHint() {
        let errors = F.errors(F.route(#"{"name": "r", "matchh": {"path": "/"}}"#))
        #expect(errors.contains(#"routes[0].matchh: unknown key (did you mean "match"?)"#))
        #expect(errors.contains("routes[0].match: required"))
        #expect(F.errors(F.app(#""bogus": 1"#)) == ["bogus: unknown key"])
    }

    @Test func wrongTypeNamesExpectedAndActual() {
        #expect(F.errors(F.app(#""server": {"workers": "4"}"#)) == ["server.workers: expected an integer, got string"])
        #expect(F.errors(F.app(#""server": {"workers": 1.5}"#)) == ["server.workers: expected an integer, got 1.5"])
        #expect(F.errors(F.app(#""logging": {"access_log": "yes"}"#)) == ["logging.access_log: expected a boolean, got string"])
        #expect(F.errors(F.app(#""routes": {}"#)) == ["routes: expected an array, got object"])
        #expect(F.errors("[1]") == ["the config must be a JSON object, got array"])
    }

    @Test func badDurationMessage() {
        let json = F.app(#""routes": [{"name": "a", "match": {"path": "/a"}}, {"name": "b", "match": {"path": "/b"}},"#
            + #"{"name": "c", "match": {"path": "/c"}, "quotas": [{"limit": 1, "per": "1 hour"}]}]"#)
        #expect(F.errors(json) == [#"routes[2].quotas[0].per: "1 hour" is not a duration; use 10s, 5m, 1h, 1d"#])
        #expect(F.errors(F.app(#""identity": {"jwt": {"hmac_secret_env": "JWT_SECRET", "leeway": 30}}"#))
            == [#"identity.jwt.leeway: expected a duration string such as "10s", got number"#])
    }

    @Test func badListenAddresses() {
        #expect(F.errors(F.app(#""server": {"listen": "8080"}"#)).first?.hasPrefix(#"server.listen: "8080" is not a listen address"#) == true)
        #expect(F.errors(F.app(#""server": {"listen": "0.0.0.0:65536"}"#))
            == [#"server.listen: "0.0.0.0:65536": port must be a number between 0 and 65535"#])
        // Listen port 0 is allowed on purpose: the kernel picks a free port (tests, side-by-side runs).
        #expect((try? F.load(F.app(#""server": {"listen": "127.0.0.1:0"}"#)))?.server.listen.port == 0)
        #expect(F.errors(F.app(#""server": {"listen": "example.com:80"}"#))
            == [#"server.listen: "example.com:80": the host must be a numeric IP address or localhost"#])
        #expect(F.errors(F.app(#""server": {"listen": "::1:80"}"#)).count == 1)
        let config = try? F.load(F.app(#""server": {"listen": "[::1]:8081"}"#))
        #expect(config?.server.listen == SocketAddress(host: "::1", port: 8081))
    }

    @Test func badCIDR() {
        let errors = F.errors(F.app(#""server": {"trusted_proxies": ["10.0.0.0/8", "10.0.0.0/33", "300.1.1.1", "::1/129"]}"#))
        #expect(errors == [
            #"server.trusted_proxies[1]: "10.0.0.0/33" is not a CIDR; use e.g. 10.0.0.0/8, 127.0.0.1/32 or ::1/128"#,
            #"server.trusted_proxies[2]: "300.1.1.1" is not a CIDR; use e.g. 10.0.0.0/8, 127.0.0.1/32 or ::1/128"#,
            #"server.trusted_proxies[3]: "::1/129" is not a CIDR; use e.g. 10.0.0.0/8, 127.0.0.1/32 or ::1/128"#,
        ])
    }

    @Test func outOfRangeNumbers() {
        #expect(F.errors(F.app(#""server": {"limits": {"header_bytes": -1}}"#)) == ["server.limits.header_bytes: must be at least 1, got -1"])
        let upstream = #"{"upstreams": {"app": {"url": "http://h", "retry": {"jitter": 1.5}, "circuit_breaker": {"failure_rate": -0.1}, "max_in_flight": 0}}}"#
        #expect(F.errors(upstream) == [
            "upstreams.app.retry.jitter: must be between 0 and 1, got 1.5",
            "upstreams.app.circuit_breaker.failure_rate: must be between 0 and 1, got -0.1",
            "upstreams.app.max_in_flight: must be at least 1, got 0",
        ])
        #expect(F.errors(#"{"upstreams": {"app": {"url": "http://h:0"}}}"#)
            == [#"upstreams.app.url: "http://h:0": port must be a number between 1 and 65535"#])
        #expect(F.errors(F.route(#"{"name": "r", "match": {"path": "/"}, "quotas": [{"limit": 0, "per": "1m"}]}"#))
            == ["routes[0].quotas[0].limit: must be at least 1, got 0"])
    }

    @Test func badEnumValue() {
        #expect(F.errors(F.app(#""store": {"kind": "mongo"}"#)) == [#"store.kind: "mongo" is not one of memory, redis"#])
        #expect(F.errors(F.app(#""headers": {"mode": "append"}"#)) == [#"headers.mode: "append" is not one of override, if_absent"#])
        #expect(F.errors(F.app(#""logging": {"level": "trace"}"#)) == [#"logging.level: "trace" is not one of debug, info, warn, error"#])
    }

    @Test func routeNamingMissingUpstream() {
        #expect(F.errors(F.route(#"{"name": "r", "match": {"path": "/"}, "upstream": "ap"}"#))
            == [#"routes[0].upstream: no upstream named "ap"; defined: app"#])
    }

    @Test func upstreamOmittedOnlyWithSingleUpstream() throws {
        let one = try F.load(F.route(#"{"name": "r", "match": {"path": "/"}}"#))
        #expect(one.routes[0].upstream == "app")
        let two = #"{"upstreams": {"a": {"url": "http://a"}, "b": {"url": "http://b"}}, "routes": [{"name": "r", "match": {"path": "/"}}]}"#
        #expect(F.errors(two) == ["routes[0].upstream: required when more than one upstream is defined"])
        #expect(F.errors(#"{"upstreams": {}}"#) == ["upstreams: define at least one upstream"])
        #expect(F.errors("{}") == ["upstreams: required"])
    }

    @Test func matchNeedsExactlyOneOfPathAndPrefix() {
        #expect(F.errors(F.route(#"{"name": "r", "match": {"methods": ["GET"]}}"#)) == ["routes[0].match: needs path or path_prefix"])
        #expect(F.errors(F.route(#"{"name": "r", "match": {"path": "/a", "path_prefix": "/"}}"#))
            == ["routes[0].match: use either path or path_prefix, not both"])
        #expect(F.errors(F.route(#"{"name": "r", "match": {"path_prefix": "api"}}"#))
            == [#"routes[0].match.path_prefix: must start with "/""#])
    }

    @Test func duplicateRouteNames() {
        let json = F.app(#""routes": [{"name": "chat", "match": {"path": "/a"}}, {"name": "x", "match": {"path": "/b"}}, {"name": "chat", "match": {"path": "/c"}}]"#)
        #expect(F.errors(json) == [#"routes[2].name: duplicate route name "chat" (also routes[0])"#])
    }

    @Test(arguments: [
        ("/a/{}/b", "empty parameter name {}"),
        ("/a/{id", #"unclosed { in "{id""#),
        ("/a/id}", #"unmatched } in "id}""#),
        ("/a/x{id}", #"a {parameter} must be a whole segment, not part of "x{id}""#),
        ("/a/{1d}", #"parameter name "1d" must be letters, digits or _ (not starting with a digit)"#),
        ("/a/{id}/{id}", "parameter {id} appears twice"),
        ("a/b", #"must start with "/""#),
    ])
    func invalidTemplate(path: String, message: String) {
        #expect(F.errors(F.route(#"{"name": "r", "match": {"path": "\#(path)"}}"#)) == ["routes[0].match.path: \(message)"])
    }

    @Test func upstreamURLMustBeHTTP() {
        #expect(F.errors(#"{"upstreams": {"app": {"url": "ftp://127.0.0.1:3000"}}}"#)
            == [#"upstreams.app.url: "ftp://127.0.0.1:3000": scheme must be http or https"#])
        #expect(F.errors(#"{"upstreams": {"app": {"url": "not a url"}}}"#)
            == [#"upstreams.app.url: "not a url" is not a URL; use http://host:port or https://host"#])
        #expect(F.errors(#"{"upstreams": {"app": {"url": "http://"}}}"#) == [#"upstreams.app.url: "http://" has no host"#])
        #expect(F.errors(#"{"upstreams": {"app": {"url": "http://u:p@h/"}}}"#).count == 1)
        #expect(F.errors(#"{"upstreams": {"app": {}}}"#) == ["upstreams.app.url: required"])
    }

    @Test func upstreamURLParts() throws {
        let config = try F.load(#"{"upstreams": {"a": {"url": "http://127.0.0.1:3000"}, "b": {"url": "HTTPS://API.example.com/v1/"}, "c": {"url": "http://[::1]/x"}}}"#)
        let a = try #require(config.upstreams["a"])
        #expect((a.scheme, a.host, a.port, a.basePath, a.url) == ("http", "127.0.0.1", 3000, "", "http://127.0.0.1:3000"))
        let b = try #require(config.upstreams["b"])
        #expect((b.scheme, b.host, b.port, b.basePath, b.url) == ("https", "api.example.com", 443, "/v1", "https://api.example.com/v1"))
        let c = try #require(config.upstreams["c"])
        #expect((c.host, c.port, c.basePath, c.url) == ("::1", 80, "/x", "http://[::1]/x"))
    }

    @Test func redisStoreNeedsURL() throws {
        #expect(F.errors(F.app(#""store": {"kind": "redis"}"#)) == [#"store.url: required when kind is "redis" (or give "cluster": ["host:port", ...])"#])
        #expect(F.errors(F.app(#""store": {"kind": "redis", "url": "http://x"}"#))
            == [#"store.url: "http://x" is not a Redis URL; use redis://host:6379/0"#])
        let config = try F.load(F.app(#""store": {"kind": "redis", "url": "redis://r:6379/0", "on_unavailable": "deny"}"#))
        #expect(config.store.kind == .redis && config.store.url == "redis://r:6379/0" && config.store.onUnavailable == .deny)
    }

    /// SPEC §11.9: Redis Cluster by its seed nodes; each mistake named at its JSON path.
    @Test func redisClusterSeeds() throws {
        let config = try F.load(F.app(#""store": {"kind": "redis", "cluster": ["10.0.0.1:7000", "redis-b:7001", "[::1]:7002"]}"#))
        #expect(config.store.cluster == ["10.0.0.1:7000", "redis-b:7001", "[::1]:7002"] && config.store.url == nil)
        var store = config.store
        store.passwordEnv = "REDIS_PASSWORD"
        let target = try #require(try store.redisTarget(environment: ["REDIS_PASSWORD": "s3cret"]))
        #expect(target.nodes.map { "\($0.host):\($0.port)" } == ["10.0.0.1:7000", "redis-b:7001", "::1:7002"])
        #expect(target.nodes.allSatisfy { $0.password == "s3cret" && $0.database == 0 })
        if case .cluster = target {} else { Issue.record("a cluster target") }
        #expect(F.errors(F.app(#""store": {"kind": "redis", "cluster": []}"#)) == [#"store.cluster: needs at least one seed node "host:port""#])
        #expect(F.errors(F.app(#""store": {"kind": "redis", "cluster": ["a:1", "redis://b:2", "c", "d:1/2", 7]}"#)) == [
            #"store.cluster[1]: "redis://b:2" is not a seed node; use "host:port" (the password comes from password_env)"#,
            #"store.cluster[2]: "c" is not a seed node; use "host:port" (the password comes from password_env)"#,
            #"store.cluster[3]: "d:1/2" is not a seed node; use "host:port" (the password comes from password_env)"#,
            "store.cluster[4]: expected a string, got number",
        ])
        #expect(F.errors(F.app(#""store": {"kind": "redis", "url": "redis://r:6379", "cluster": ["a:1"]}"#))
            == ["store.cluster: give either url (one Redis) or cluster (Redis Cluster seed nodes), not both"])
    }

    @Test func tlsFilesMustExist() throws {
        let cwd = FileManager.default.currentDirectoryPath
        #expect(F.errors(F.app(#""server": {"tls": {"cert_file": "no-such-cert.pem", "key_file": "no-such-key.pem"}}"#)) == [
            #"server.tls.cert_file: file "no-such-cert.pem" not found (relative to \#(cwd))"#,
            #"server.tls.key_file: file "no-such-key.pem" not found (relative to \#(cwd))"#,
        ])
        #expect(F.errors(F.app(#""server": {"tls": {"cert_file": "x"}}"#)).contains("server.tls.key_file: required"))
        let existing = F.path("valid-minimal.json")
        let config = try F.load(F.app(#""server": {"tls": {"cert_file": "\#(existing)", "key_file": "\#(existing)"}}"#))
        #expect(config.server.tls?.certFile == existing)
    }

    @Test func adminTokenRules() throws {
        #expect(F.errors(F.app(#""admin": {"listen": "0.0.0.0:9901"}"#))
            == ["admin.listen: 0.0.0.0:9901 is not a loopback address; set admin.token_env or admin.token_file so the admin API requires a token"])
        #expect(F.errors(F.app(#""admin": {"listen": "127.0.0.1:9901", "token_env": "RAMPART_ADMIN_TOKEN"}"#), env: [:])
            == ["admin.token_env: environment variable RAMPART_ADMIN_TOKEN is not set"])
        #expect(F.errors(F.app(#""admin": {"token_env": "RAMPART_ADMIN_TOKEN"}"#), env: ["RAMPART_ADMIN_TOKEN": ""])
            == ["admin.token_env: environment variable RAMPART_ADMIN_TOKEN is not set"])
        let open = try F.load(F.app(#""admin": {"listen": "[::]:9901", "token_env": "RAMPART_ADMIN_TOKEN"}"#))
        #expect(open.admin.listen == SocketAddress(host: "::", port: 9901) && open.admin.tokenEnv == "RAMPART_ADMIN_TOKEN")
        let off = try F.load(F.app(#""admin": {"listen": null}"#))
        #expect(off.admin.listen == nil)
    }

    @Test func jwtSecretEnvMustBeSet() {
        #expect(F.errors(F.app(#""identity": {"jwt": {"hmac_secret_env": "JWT_SECRET"}}"#), env: [:])
            == ["identity.jwt.hmac_secret_env: environment variable JWT_SECRET is not set"])
        #expect(F.errors(F.app(#""identity": {"jwt": {"algorithms": ["none"]}}"#)) == [
            #"identity.jwt.algorithms[0]: "none" is not one of RS256, RS384, RS512, ES256, ES384, HS256, HS384, HS512"#,
            "identity.jwt: needs a key source: public_keys_file, jwks_file or hmac_secret_env",
        ])
    }

    @Test func authRequiredNeedsAnIdentitySource() {
        #expect(F.errors(F.route(#"{"name": "r", "match": {"path": "/"}, "auth": "required"}"#))
            == [#"routes[0].auth: "required" needs identity.jwt or identity.trusted_header; no request could ever pass"#])
    }

    @Test func schemaSubsetIsEnforced() {
        let schema = #"{"type": "object", "oneOf": [], "properties": {"n": {"type": "text", "minLength": "3", "format": "uri"}},"#
            + #" "additionalProperties": {}, "pattern": "([", "required": "n"}"#
        let errors = F.errors(F.route(#"{"name": "r", "match": {"path": "/"}, "validate": {"schema": \#(schema)}}"#))
        let p = "routes[0].validate.schema"
        #expect(errors == [
            "\(p).oneOf: unsupported schema keyword; supported: type, properties, required, additionalProperties, items, minLength, maxLength, minimum, maximum, enum, pattern, format, description, title",
            #"\#(p).properties.n.type: "text" is not one of object, array, string, number, integer, boolean, null"#,
            "\(p).properties.n.minLength: expected an integer, got string",
            #"\#(p).properties.n.format: "uri" is not one of uuid, date-time, email"#,
            "\(p).required: expected an array, got string",
            "\(p).additionalProperties: expected a boolean, got object",
            #"\#(p).pattern: "([" is not a valid regular expression"#,
        ])
    }

    @Test func streamSaveAndTruncateFormats() {
        let bad = #"{"name": "r", "match": {"path": "/a/{id}"}, "stream_save": {"format": "sse", "save": {"url": "/x/{bogus}"}},"#
            + #" "truncate": {"format": {"pointer": "messages"}, "budget_tokens": 0}}"#
        #expect(F.errors(F.route(bad)) == [
            #"routes[0].stream_save.format: "sse" is not one of anthropic, openai, text"#,
            "routes[0].stream_save.save.url: unknown placeholder {bogus}; use {content}, {user}, {request_id}, {body.field}, {query.name}, {header.Name} or a path parameter ({id})",
            #"routes[0].truncate.format.pointer: "messages" is not a JSON pointer; it must start with "/""#,
            "routes[0].truncate.budget_tokens: must be at least 1, got 0",
        ])
        let more = #"{"name": "r", "match": {"path": "/"}, "stream_save": {"format": {"event": "x"}, "mode": "verify", "save": {"url": "/s", "body": {"a": ["{content"]}}},"#
            + #" "truncate": {"format": "gemini", "budget_tokens": 10, "chars_per_token": 0}}"#
        #expect(F.errors(F.route(more)) == [
            "routes[0].stream_save.format.pointer: required",
            #"routes[0].stream_save.save.body.a[0]: unclosed { in template "{content""#,
            #"routes[0].stream_save.verify: required when mode is "verify""#,
            #"routes[0].truncate.format: "gemini" is not one of anthropic, openai"#,
            "routes[0].truncate.chars_per_token: must be greater than 0",
        ])
    }

    @Test func headerPathsUseHeaderNames() {
        let json = F.app(#""headers": {"set": {"X-Frame-Options": 1, "X-Bad": "a\r\nSet-Cookie: x", "Bad Name": "v"}, "cors": {"allow_origins": ["*", "https://a.example/"], "allow_credentials": true}}"#)
        #expect(F.errors(json) == [
            "headers.set.X-Frame-Options: expected a string, got number",
            "headers.set.X-Bad: header values may not contain control characters or line breaks",
            #"headers.set["Bad Name"]: not a valid header name"#,
            #"headers.cors.allow_origins[1]: "https://a.example/" is not an origin; use scheme://host[:port] without a path, or "*""#,
            #"headers.cors.allow_origins: "*" cannot be combined with allow_credentials: true (browsers reject it); list the origins"#,
        ])
    }

    @Test func duplicateKeysAreErrorsWithTheirPath() {
        #expect(F.errors(#"{"upstreams": {"app": {"url": "http://a", "url": "http://b"}}}"#)
            == ["upstreams.app.url: duplicate key (line 1, column 43); each key may appear once"])
    }

    @Test func syntaxErrorHasLineAndColumn() {
        #expect(F.errors("{\n  \"upstreams\": {\n    \"app\": {\"url\": \"http://a\",}\n  }\n}")
            == ["invalid JSON at line 3, column 31: unexpected '}', expected a key in double quotes"])
        #expect(F.errors("") == ["invalid JSON at line 1, column 1: unexpected end of input, expected a value"])
    }

    @Test func allErrorsAreReportedAtOnce() throws {
        let text = try String(contentsOfFile: F.path("invalid-many.json"), encoding: .utf8)
        let errors = Set(F.errors(text))
        let expected: Set<String> = [
            #"server.listen: "0.0.0.0:65536": port must be a number between 0 and 65535"#,
            "server.workers: expected an integer, got string",
            #"server.trusted_proxies[0]: "10.0.0.0/33" is not a CIDR; use e.g. 10.0.0.0/8, 127.0.0.1/32 or ::1/128"#,
            "server.limits.header_bytes: must be at least 1, got -1",
            "admin.listen: 0.0.0.0:9901 is not a loopback address; set admin.token_env or admin.token_file so the admin API requires a token",
            #"store.kind: "mongo" is not one of memory, redis"#,
            #"upstreams.app.url: "ftp://127.0.0.1:3000": scheme must be http or https"#,
            "upstreams.app.retry.jitter: must be between 0 and 1, got 1.5",
            "upstreams.llm.circuit_breaker.failure_rate: must be between 0 and 1, got 2",
            #"routes[0].matchh: unknown key (did you mean "match"?)"#,
            "routes[0].match: required",
            "routes[1].match.path: empty parameter name {}",
            #"routes[1].upstream: no upstream named "nope"; defined: app, llm"#,
            #"routes[1].name: duplicate route name "a" (also routes[0])"#,
            "routes[2].quotas[0].limit: must be at least 1, got 0",
            #"routes[2].quotas[0].per: "1 hour" is not a duration; use 10s, 5m, 1h, 1d"#,
        ]
        #expect(errors == expected)
        do throws(ConfigErrors) {
            _ = try ConfigLoader.load(path: F.path("invalid-many.json"), environment: F.env)
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.count == expected.count)
            #expect(error.description.split(separator: "\n").count == expected.count)
        }
    }

    @Test func missingFileIsOneError() {
        do throws(ConfigErrors) {
            _ = try ConfigLoader.load(path: "/nonexistent/gateway.json", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.errors == [ConfigError(path: "", message: "cannot read /nonexistent/gateway.json: no such file")])
        }
    }
}
