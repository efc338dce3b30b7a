import Foundation
import Testing

/// An HS256 token made with Python's hmac (the test's own signer, independent of Rampart's code).
func hs256Token(secret: String, claims: [String: Any], alg: String = "HS256") throws -> String {
    let payload = String(decoding: try JSONSerialization.data(withJSONObject: claims), as: UTF8.self)
    let script = """
    import base64, hmac, hashlib, sys
    b = lambda d: base64.urlsafe_b64encode(d).rstrip(b'=').decode()
    h = b(b'{"alg":"\(alg)","typ":"JWT"}'); p = b(sys.argv[2].encode())
    s = b(hmac.new(sys.argv[1].encode(), (h + '.' + p).encode(), hashlib.sha256).digest())
    print(h + '.' + p + '.' + s)
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, secret, payload]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

private func identityConfig(upstream: String, trusted: String, anonymous: String = "ip") -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 2, "trusted_proxies": [\(trusted)]},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "identity": {"jwt": {"algorithms": ["HS256"], "hmac_secret_env": "JWT_SECRET", "cookie": "__session", "issuer": "https://auth.test", "audience": "app"},
                   "trusted_header": "X-User-Id", "anonymous": "\(anonymous)"},
      "upstreams": {"app": {"url": "\(upstream)"}},
      "routes": [{"name": "private", "match": {"path_prefix": "/echo/private"}, "auth": "required"},
                 {"name": "default", "match": {"path_prefix": "/"}}]
    }
    """
}

@Suite(.serialized) struct IdentityTests {
    let secret = "test-secret-0123456789abcdef0123456789"

    @Test func jwtIdentityRequiredRoutesAndTokenAttacks() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: identityConfig(upstream: app.url, trusted: ""), environment: ["JWT_SECRET": secret])
        let now = Date().timeIntervalSince1970
        let good = try hs256Token(secret: secret, claims: ["sub": "u1", "iss": "https://auth.test", "aud": "app", "exp": now + 600])
        let ok = try HTTPClient.request(port: rampart.port, path: "/echo/private", headers: ["Authorization": "Bearer \(good)", "X-Request-Id": "jwt-ok"])
        #expect(ok.status == 200)
        try eventually { rampart.accessLog.contains { $0["request_id"] as? String == "jwt-ok" && $0["user"] as? String == "u1" } }

        // A token in the configured cookie works too.
        let cookie = try HTTPClient.request(port: rampart.port, path: "/echo/private", headers: ["Cookie": "a=b; __session=\(good)"])
        #expect(cookie.status == 200)

        let parts = good.split(separator: ".")
        let tampered = parts[0] + "." + parts[1].dropLast(2) + "xx." + parts[2]
        let expired = try hs256Token(secret: secret, claims: ["sub": "u1", "iss": "https://auth.test", "aud": "app", "exp": now - 3600])
        let wrongAud = try hs256Token(secret: secret, claims: ["sub": "u1", "iss": "https://auth.test", "aud": "other", "exp": now + 600])
        let wrongKey = try hs256Token(secret: "not-the-secret-but-long-enough-to-pass", claims: ["sub": "u1", "iss": "https://auth.test", "aud": "app", "exp": now + 600])
        let none = "eyJhbGciOiJub25lIn0." + parts[1] + "."
        for (name, token) in [("tampered", String(tampered)), ("expired", expired), ("wrong aud", wrongAud), ("wrong key", wrongKey), ("alg none", none)] {
            for path in ["/echo/private", "/echo/public"] {
                let r = try HTTPClient.request(port: rampart.port, path: path, headers: ["Authorization": "Bearer \(token)"])
                #expect(r.status == 401, "\(name) on \(path): an invalid token is never treated as anonymous")
                #expect((r.json["error"] as? [String: Any])?["code"] as? String == "UNAUTHENTICATED")
                #expect(r.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            }
        }
        let anonymousRequired = try HTTPClient.request(port: rampart.port, path: "/echo/private")
        #expect(anonymousRequired.status == 401)
        let anonymousOptional = try HTTPClient.request(port: rampart.port, path: "/echo/public")
        #expect(anonymousOptional.status == 200)
    }

    @Test func trustedHeaderAndForwardedForOnlyFromTrustedProxies() throws {
        let app = try DemoApp()
        // 127.0.0.1 is NOT trusted: the identity header and X-Forwarded-For are not believed.
        let strict = try RampartProcess(config: identityConfig(upstream: app.url, trusted: #""10.0.0.0/8""#), environment: ["JWT_SECRET": secret])
        let spoof = try HTTPClient.request(port: strict.port, path: "/echo/private", headers: ["X-User-Id": "admin"])
        #expect(spoof.status == 401, "a spoofed identity header does not authenticate")
        let passed = try HTTPClient.request(port: strict.port, path: "/echo/x", headers: ["X-User-Id": "admin", "X-Forwarded-For": "9.9.9.9"])
        let seen = (passed.json["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        #expect(!seen.contains { $0.0 == "x-user-id" }, "the app never sees a spoofed identity header")
        #expect(seen.first { $0.0 == "x-forwarded-for" }?.1 == "127.0.0.1")

        // 127.0.0.1 trusted: both are believed.
        let trusting = try RampartProcess(config: identityConfig(upstream: app.url, trusted: #""127.0.0.1/32""#), environment: ["JWT_SECRET": secret])
        let viaProxy = try HTTPClient.request(port: trusting.port, path: "/echo/private", headers: ["X-User-Id": "u7", "X-Forwarded-For": "9.9.9.9", "X-Request-Id": "via-proxy"])
        #expect(viaProxy.status == 200)
        let seen2 = (viaProxy.json["headers"] as? [[String]] ?? []).map { ($0[0].lowercased(), $0[1]) }
        #expect(seen2.first { $0.0 == "x-forwarded-for" }?.1 == "9.9.9.9, 127.0.0.1")
        try eventually { trusting.accessLog.contains { $0["request_id"] as? String == "via-proxy" && $0["user"] as? String == "u7" } }
    }

    @Test func anonymousRejectAnswers401Everywhere() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: identityConfig(upstream: app.url, trusted: "", anonymous: "reject"), environment: ["JWT_SECRET": secret])
        let r = try HTTPClient.request(port: rampart.port, path: "/echo/public")
        #expect(r.status == 401 && (r.json["error"] as? [String: Any])?["code"] as? String == "UNAUTHENTICATED")
    }
}
