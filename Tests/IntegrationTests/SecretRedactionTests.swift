import Foundation
import Testing

/// `GET /admin/config` shows the running config with its secrets redacted (SPEC §9). Secrets come
/// from the environment and files, so the config names them: the names stay visible (ops need
/// them), the values appear nowhere an operator or a log collector can read.
@Suite(.serialized) struct SecretRedactionTests {
    @Test func adminConfigAndEveryOutputHideTheSecrets() throws {
        let app = try DemoApp()
        let secrets = (admin: RampartProcess.adminToken, fileToken: "file-token-5b1e9c0a77d2", jwt: "jwt-hmac-secret-0f3a9d8c1b2e4f5a6b7c8d9e",
                       redis: "redis-env-password-8e2d", urlPassword: "redis-url-password-31c7")
        let redis = try RedisServer(extraArgs: ["--requirepass", secrets.redis])
        let dir = NSTemporaryDirectory() + "rampart-secrets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "# rotated tokens\n\(secrets.fileToken)\n".write(toFile: dir + "/admin-tokens", atomically: true, encoding: .utf8)
        let config = """
        {
          "server": {"listen": "127.0.0.1:0", "workers": 1},
          "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN", "token_file": "\(dir)/admin-tokens"},
          "store": {"kind": "redis", "url": "redis://:\(secrets.urlPassword)@127.0.0.1:\(redis.port)/0", "password_env": "REDIS_PASSWORD", "on_unavailable": "deny"},
          "identity": {"jwt": {"algorithms": ["HS256"], "hmac_secret_env": "JWT_SECRET"}},
          "upstreams": {"app": {"url": "\(app.url)"}},
          "routes": [{"name": "default", "match": {"path_prefix": "/"}, "quotas": [{"limit": 100, "per": "1m"}]}]
        }
        """
        let rampart = try RampartProcess(config: config, environment: ["REDIS_PASSWORD": secrets.redis, "JWT_SECRET": secrets.jwt])
        try eventually("ready: the Redis password from REDIS_PASSWORD works") {
            try HTTPClient.request(port: rampart.port, path: "/_rampart/readyz").status == 200
        }
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/x").status == 200)
        #expect(try rampart.admin("GET", "/admin/status", token: secrets.fileToken).status == 200, "the file's token is accepted")

        let shown = try rampart.admin("GET", "/admin/config")
        #expect(shown.status == 200)
        let store = try #require(shown.json["store"] as? [String: Any], "\(shown.text)")
        #expect(store["password_env"] as? String == "REDIS_PASSWORD", "the env var's name stays visible")
        #expect(store["url"] as? String == "redis://:[redacted]@127.0.0.1:\(redis.port)/0", "\(store)")
        let admin = shown.json["admin"] as? [String: Any]
        #expect(admin?["token_env"] as? String == "RAMPART_ADMIN_TOKEN" && admin?["token_file"] as? String == "\(dir)/admin-tokens")
        let jwt = (shown.json["identity"] as? [String: Any])?["jwt"] as? [String: Any]
        #expect(jwt?["hmac_secret_env"] as? String == "JWT_SECRET")

        // Every answer an operator can get, and everything the process printed.
        var outputs = ["/admin/config": shown.text]
        for path in ["/admin/status", "/admin/breakers", "/admin/saves", "/admin/usage", "/metrics"] {
            outputs[path] = try rampart.admin("GET", path).text
        }
        outputs["readyz"] = try HTTPClient.request(port: rampart.port, path: "/_rampart/readyz").text
        outputs["validate"] = try rampart.admin("POST", "/admin/config/validate", body: config).text
        outputs["reload"] = try rampart.admin("POST", "/admin/reload").text
        outputs["stdout"] = rampart.child.lines.joined(separator: "\n")
        for (what, text) in outputs {
            for (name, secret) in [("admin token", secrets.admin), ("token file", secrets.fileToken), ("JWT secret", secrets.jwt),
                                   ("Redis password", secrets.redis), ("URL password", secrets.urlPassword)] {
                #expect(!text.contains(secret), "\(what) shows the \(name): \(text.prefix(2000))")
            }
        }
    }
}
