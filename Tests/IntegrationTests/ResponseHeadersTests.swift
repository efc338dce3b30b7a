import Foundation
import Testing

/// One finishing step for every response: whatever produced it (the app, Rampart's own error,
/// a health check, the strict parser), a client sees the same security headers and request id,
/// and Strict-Transport-Security exactly when it came over TLS.
@Suite(.serialized) struct ResponseHeadersTests {
    static let routes = #"""
    [{"name": "limited", "match": {"path": "/echo/limited"}, "quotas": [{"limit": 1, "per": "1m", "key": "ip"}]},
     {"name": "small", "match": {"path": "/echo/small"}, "body_limit": 10},
     {"name": "tripped", "match": {"path_prefix": "/echo/tripped"}, "circuit_breaker": {"consecutive_failures": 1, "cooldown": "60s"}},
     {"name": "app", "match": {"path_prefix": "/echo"}},
     {"name": "boom", "match": {"path": "/boom"}},
     {"name": "missing", "match": {"path": "/missing"}}]
    """#

    /// (what, curl arguments after the URL's path, expected status).
    static let kinds: [(String, String, [String], Int)] = [
        ("proxied 200", "/echo/ok", [], 200),
        ("upstream 404", "/missing", [], 404),
        ("scrubbed 502", "/boom", [], 502),
        ("no route 404", "/nowhere", [], 404),
        ("health", "/_rampart/healthz", [], 200),
        ("readiness", "/_rampart/readyz", [], 200),
        ("body too large 413", "/echo/small", ["-d", String(repeating: "x", count: 100)], 413),
        ("headers too large 431", "/echo/ok", ["-H", "X-Big: " + String(repeating: "b", count: 3000)], 431),
        ("ambiguous framing 400", "/echo/ok", ["-H", "Transfer-Encoding: chunked", "-H", "Content-Length: 3", "-d", "abc"], 400),
        ("quota 429 (second call)", "/echo/limited", [], 429),
        ("breaker open 503", "/echo/tripped", [], 503),
    ]

    @Test func everyKindOfResponseCarriesTheSameHeadersOverPlainAndTLS() throws {
        let dir = NSTemporaryDirectory() + "rampart-headers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, key) = try makeCertificate(in: dir)
        let app = try DemoApp()
        let server = #""limits": {"header_bytes": 2048}"#
        let plain = try RampartProcess(config: testConfig(upstream: app.url, routes: Self.routes, server: server))
        let tls = try RampartProcess(config: testConfig(upstream: app.url, routes: Self.routes,
                                                        server: server + #", "tls": {"cert_file": "\#(cert)", "key_file": "\#(key)"}"#))
        for (rampart, scheme) in [(plain, "http"), (tls, "https")] {
            _ = try curl(["-s", "-o", "/dev/null", "--cacert", cert, "\(scheme)://127.0.0.1:\(rampart.port)/echo/limited"])
            #expect(try rampart.admin("POST", "/admin/breakers/app/tripped/open").status == 200)
            for (what, path, args, status) in Self.kinds {
                let r = try curl(["-s", "-i", "-o", "-", "--cacert", cert] + args + ["\(scheme)://127.0.0.1:\(rampart.port)\(path)"])
                let head = r.output.components(separatedBy: "\r\n\r\n").first ?? ""
                let lines = head.lowercased().split(separator: "\r\n")
                let statusLine = lines.first.map(String.init) ?? ""
                #expect(statusLine.contains(" \(status)"), "\(scheme) \(what): \(statusLine)")
                func has(_ name: String) -> Bool { lines.contains { $0.hasPrefix(name + ":") } }
                for name in ["x-request-id", "x-frame-options", "x-content-type-options"] {
                    #expect(has(name), "\(scheme) \(what) lacks \(name):\n\(head)")
                }
                #expect(has("strict-transport-security") == (scheme == "https"), "\(scheme) \(what): HSTS exactly over TLS\n\(head)")
            }
        }
    }
}
