import RampartHTTP
@testable import RampartProxy
@testable import RampartLoop
@testable import RampartTransport
import Foundation
import Testing
@testable import Rampart

/// The keys and pure pieces behind drain, admin safety and the access log (issue 15).
@Suite struct OperationsConfigTests {
    typealias F = ConfigFixture

    @Test func drainDelayIsADurationWithAKubernetesDefault() throws {
        #expect(try F.load(F.app()).server.drainDelayMs == 5000)
        #expect(try F.load(F.app(#""server": {"drain_delay": "250ms"}"#)).server.drainDelayMs == 250)
        #expect(try F.load(F.app(#""server": {"drain_delay": "0s"}"#)).server.drainDelayMs == 0)
        #expect(F.errors(F.app(#""server": {"drain_delay": 5}"#)) == [#"server.drain_delay: expected a duration string such as "10s", got number"#])
    }

    @Test func adminSafetyKeys() throws {
        let insecure = try F.load(F.app(#""admin": {"insecure_no_auth": true}"#))
        #expect(insecure.admin.insecureNoAuth && insecure.admin.tokenEnv == nil)
        #expect(F.errors(F.app(#""admin": {"insecure_no_auth": true, "token_env": "RAMPART_ADMIN_TOKEN"}"#))
            == ["admin.insecure_no_auth: cannot be set together with a token; remove one of them"])
        #expect(F.errors(F.app(#""admin": {"listen": "0.0.0.0:9901", "insecure_no_auth": true}"#)).first?.hasPrefix("admin.listen: 0.0.0.0:9901 is not a loopback") == true)
        let metrics = try F.load(F.app(#""admin": {"token_env": "RAMPART_ADMIN_TOKEN", "metrics_listen": "0.0.0.0:9902"}"#))
        #expect(metrics.admin.metricsListen == SocketAddress(host: "0.0.0.0", port: 9902))
        #expect(F.errors(F.app(#""admin": {"listen": "127.0.0.1:9901", "token_env": "RAMPART_ADMIN_TOKEN", "metrics_listen": "127.0.0.1:9901"}"#))
            == ["admin.metrics_listen: must differ from admin.listen (127.0.0.1:9901)"])
    }

    /// `check` loads without secrets and says which ones serve will need; serve still refuses.
    @Test func secretsAreListedNotRequiredWhenChecking() throws {
        let json = F.app(#""admin": {"token_env": "RAMPART_ADMIN_TOKEN", "token_file": "/nonexistent/admin-token"}, "store": {"kind": "redis", "url": "redis://127.0.0.1:6379", "password_env": "REDIS_PASSWORD"}"#)
        let checked = try ConfigLoader.parse(json: json, environment: ["REDIS_PASSWORD": "p"], requireSecrets: false)
        #expect(checked.secrets == [
            SecretReference(kind: .env, name: "RAMPART_ADMIN_TOKEN", path: "admin.token_env", present: false),
            SecretReference(kind: .file, name: "/nonexistent/admin-token", path: "admin.token_file", present: false),
            SecretReference(kind: .env, name: "REDIS_PASSWORD", path: "store.password_env", present: true),
        ])
        #expect(F.errors(json, env: ["REDIS_PASSWORD": "p"]) == [
            "admin.token_env: environment variable RAMPART_ADMIN_TOKEN is not set",
            #"admin.token_file: file "/nonexistent/admin-token" not found (relative to \#(FileManager.default.currentDirectoryPath))"#,
        ])
    }

    @Test func queryRedactionMasksNamedParametersOnly() throws {
        let names: Set = ["token", "sig", "api_key"]
        #expect(AccessLog.redact("page=2&token=abc&x=", names) == "page=2&token=[redacted]&x=")
        #expect(AccessLog.redact("TOKEN=a&Sig=b&%74oken=c&api%5Fkey=d", names) == "TOKEN=[redacted]&Sig=[redacted]&%74oken=[redacted]&api%5Fkey=[redacted]")
        #expect(AccessLog.redact("token&tokens=1&&a=b=c", names) == "token&tokens=1&&a=b=c")
        #expect(try F.load(F.app(#""logging": {"redact_query_params": ["session_id"]}"#)).logging.redactQueryParams == ["session_id"])
    }

    @Test func adminConfigMasksSecretValuesAndURLPasswordsButKeepsTheirNames() throws {
        let source = try JSONValue.parse(Array(#"""
            {"store": {"url": "redis://:pw1@r:6379/0", "password_env": "REDIS_PASSWORD"},
             "admin": {"token_env": "T", "token_file": "/run/t", "token": "pasted"},
             "other": ["redis://user:pw2@h/1", "redis://pw3@h", "http://h/p@q", "x@y", "redis://h:1/0"]}
            """#.utf8))
        let shown = source.redactingSecrets().jsonText()
        #expect(shown == #"{"store":{"url":"redis://:[redacted]@r:6379/0","password_env":"REDIS_PASSWORD"},"admin":{"token_env":"T","token_file":"/run/t","token":"[redacted]"},"other":["redis://user:[redacted]@h/1","redis://[redacted]@h","http://h/p@q","x@y","redis://h:1/0"]}"#)
    }

    /// A cut stream ends in the dialect its client's SDK reads.
    @Test func streamErrorEventsSpeakTheRouteFormat() throws {
        let e = GatewayError(status: 503, code: "SHUTTING_DOWN", message: "Cut.")
        let anthropic = String(decoding: StreamErrorEvent.bytes(e, dialect: .anthropic, requestID: "r1"), as: UTF8.self)
        #expect(anthropic.hasPrefix("event: error\ndata: "))
        #expect(anthropic.contains(#"{"type":"error","error":{"type":"overloaded_error","message":"Cut.","code":"SHUTTING_DOWN"}"#))
        let openai = String(decoding: StreamErrorEvent.bytes(e, dialect: .openai, requestID: "r1"), as: UTF8.self)
        #expect(openai.hasPrefix("data: {\"error\":{\"message\":\"Cut.\",\"type\":\"server_error\""))
        #expect(openai.hasSuffix("\n\n"))
        let generic = String(decoding: StreamErrorEvent.bytes(e, dialect: .generic, requestID: "r1"), as: UTF8.self)
        #expect(generic.contains(#""code":"SHUTTING_DOWN""#) && generic.hasPrefix("event: error\n"))
    }

    /// Audit lines name a token by a hash prefix: stable, not the token, distinct per token.
    @Test func adminTokensHaveNonSecretAuditIDs() {
        let tokens = AdminTokens(["alpha-token", "beta-token"])
        let a = tokens.match(Array("alpha-token".utf8)), b = tokens.match(Array("beta-token".utf8))
        #expect(a == "sha256:" + SHA256.hex(Array("alpha-token".utf8)).prefix(12))
        #expect(b != nil && a != b)
        #expect(tokens.match(Array("alpha-toke".utf8)) == nil && tokens.match([]) == nil)
    }
}
