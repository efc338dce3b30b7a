import Foundation
import Testing

private let fullHeaders = #"""
"headers": {
    "set": {"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "origin-when-cross-origin", "Permissions-Policy": "camera=(), microphone=(), geolocation=()"},
    "mode": "override", "remove": ["X-Powered-By", "Server"],
    "cors": {"allow_origins": ["https://app.example.com"], "allow_credentials": true}
  }
"""#

private func securityConfig(upstream: String, routes: String) -> String {
    """
    {
      "server": {"listen": "127.0.0.1:0", "workers": 2},
      "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
      "upstreams": {"app": {"url": "\(upstream)"}},
      \(fullHeaders),
      "routes": \(routes)
    }
    """
}

private let securityHeaderNames = ["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"]

@Suite(.serialized) struct SecurityEdgeTests {
    @Test func securityHeadersOnEveryKindOfResponse() throws {
        let raw = try RawUpstream { head in
            let line = String(decoding: head.prefix(40), as: UTF8.self)
            if line.contains("/redirect") { return Array("HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n".utf8) }
            if line.contains("/cached") { return Array("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n".utf8) }
            if line.contains("/own-csp") {
                return Array("HTTP/1.1 200 OK\r\nContent-Security-Policy: default-src *\r\nX-Frame-Options: SAMEORIGIN\r\nContent-Length: 2\r\n\r\nok".utf8)
            }
            return Array("HTTP/1.1 200 OK\r\nServer: leaky/1.0\r\nX-Powered-By: PHP/5\r\nContent-Length: 2\r\n\r\nok".utf8)
        }
        let app = try DemoApp()
        let rampart = try RampartProcess(config: securityConfig(upstream: raw.url, routes: """
            [{"name": "sse", "match": {"path_prefix": "/sse"}, "upstream": "demo"},
             {"name": "soft", "match": {"path_prefix": "/soft"}, "upstream": "app", "headers": {"mode": "if_absent"}},
             {"name": "report", "match": {"path_prefix": "/report"}, "upstream": "app", "headers": {"csp_report_only": true}},
             {"name": "default", "match": {"path_prefix": "/"}, "upstream": "app"}]
            """).replacingOccurrences(of: #""upstreams": {"app": {"url": "\#(raw.url)"}}"#,
                                      with: #""upstreams": {"app": {"url": "\#(raw.url)"}, "demo": {"url": "\#(app.url)"}}"#))
        func check(_ r: HTTPClient.Response, _ what: String) {
            for name in securityHeaderNames { #expect(r.headers(name).count == 1, "\(what): exactly one \(name)") }
            #expect(r.header("Server") == nil && r.header("X-Powered-By") == nil, "\(what): leaks removed")
        }
        check(try HTTPClient.request(port: rampart.port, path: "/plain"), "proxied")
        check(try HTTPClient.request(port: rampart.port, path: "/redirect"), "redirect")
        check(try HTTPClient.request(port: rampart.port, path: "/cached"), "304")
        let c = try HTTPClient(port: rampart.port)
        try c.send(HTTPClient.requestText(method: "GET", path: "/sse?events=1&gap_ms=1"))
        check(try c.readHead(), "SSE stream")
        check(try HTTPClient.request(port: rampart.port, path: "/plain", headers: ["Origin": "https://evil.example"]), "Rampart's own 403")
        let bad = try HTTPClient(port: rampart.port)
        try bad.send("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        check(try bad.readResponse(), "Rampart's own 400")

        // override replaces the upstream's value; if_absent keeps it.
        let overridden = try HTTPClient.request(port: rampart.port, path: "/own-csp")
        #expect(overridden.header("Content-Security-Policy") == "default-src 'self'" && overridden.header("X-Frame-Options") == "DENY")
        let kept = try HTTPClient.request(port: rampart.port, path: "/soft/own-csp")
        #expect(kept.header("Content-Security-Policy") == "default-src *" && kept.header("X-Frame-Options") == "SAMEORIGIN")
        // report-only: the header is renamed, and never two CSP headers on one response.
        let report = try HTTPClient.request(port: rampart.port, path: "/report/own-csp")
        #expect(report.header("Content-Security-Policy-Report-Only") == "default-src 'self'")
        #expect(report.header("Content-Security-Policy") == nil)
    }

    @Test func httplintFindsNothingBadInOurHeaders() throws {
        let lint = Binaries.repoRoot + "/.venv/bin/httplint"
        guard FileManager.default.isExecutableFile(atPath: lint) else {
            Issue.record("httplint missing at \(lint): `make test` installs it into .venv (PyPI redbot)")
            return
        }
        let app = try DemoApp()
        let rampart = try RampartProcess(config: securityConfig(upstream: app.url, routes: #"[{"name": "default", "match": {"path_prefix": "/"}}]"#))
        for path in ["/", "/echo", "/boom", "/_rampart/healthz", "/nope-404"] {
            let c = try HTTPClient(port: rampart.port)
            try c.send(HTTPClient.requestText(method: "GET", path: path))
            var raw: [UInt8] = []
            c.setTimeout(10)
            while let more = try? c.fill(), more {}
            raw = c.drain()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: lint)
            p.arguments = ["-n"]
            let input = Pipe(), output = Pipe()
            p.standardInput = input; p.standardOutput = output; p.standardError = output
            try p.run()
            input.fileHandleForWriting.write(Data(raw))
            try input.fileHandleForWriting.close()
            let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let bad = report.split(separator: "\n").filter { $0.contains("[BAD]") }
            #expect(bad.isEmpty, "httplint on \(path): \(bad.joined(separator: "; "))")
            #expect(report.contains("Browser Security") || report.contains("frame"), "httplint ran on \(path): \(report.prefix(200))")
        }
    }

    @Test func corsAllowListPreflightAndRefusal() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: securityConfig(upstream: app.url, routes: #"[{"name": "default", "match": {"path_prefix": "/"}}]"#))
        let allowed = try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["Origin": "https://app.example.com"])
        #expect(allowed.status == 200)
        #expect(allowed.header("Access-Control-Allow-Origin") == "https://app.example.com")
        #expect(allowed.header("Access-Control-Allow-Credentials") == "true")
        #expect(allowed.headers("Vary").contains { $0.contains("Origin") })

        let before = try app.requestCount()
        let preflight = try HTTPClient.request(port: rampart.port, method: "OPTIONS", path: "/api/ai/chat", headers: [
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"])
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Methods")?.contains("POST") == true)
        #expect(preflight.header("Access-Control-Allow-Headers")?.lowercased().contains("content-type") == true)
        #expect(preflight.header("Access-Control-Max-Age") != nil)
        #expect(try app.requestCount() == before, "preflights never reach the app")

        let refused = try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["Origin": "https://evil.example"])
        #expect(refused.status == 403 && (refused.json["error"] as? [String: Any])?["code"] as? String == "FORBIDDEN")
        #expect(refused.header("Access-Control-Allow-Origin") == nil)
        #expect(try app.requestCount() == before, "refused requests never reach the app")

        // Same-origin requests (Origin matches Host) are not cross-origin at all.
        let same = try HTTPClient.request(port: rampart.port, path: "/echo", headers: ["Origin": "http://127.0.0.1"])
        #expect(same.status == 200)
    }

    @Test func upstream5xxBodiesAreScrubbedAndLogged() throws {
        let app = try DemoApp()
        let raw = try RawUpstream(response: RawUpstream.fixed("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 24\r\n\r\nTraceback: secret detail"))
        let rampart = try RampartProcess(config: securityConfig(upstream: app.url, routes: #"""
            [{"name": "raw", "match": {"path_prefix": "/raw"}, "upstream": "raw", "scrub_errors": false},
             {"name": "default", "match": {"path_prefix": "/"}, "upstream": "app"}]
            """#).replacingOccurrences(of: #""upstreams": {"app": {"url": "\#(app.url)"}}"#,
                                      with: #""upstreams": {"app": {"url": "\#(app.url)"}, "raw": {"url": "\#(raw.url)"}}"#))
        let r = try HTTPClient.request(port: rampart.port, path: "/boom", headers: ["X-Request-Id": "scrub-1"])
        #expect(r.status == 502)
        let error = r.json["error"] as? [String: Any]
        #expect(error?["code"] as? String == "UPSTREAM_ERROR" && error?["request_id"] as? String == "scrub-1")
        #expect(!r.text.contains("ECONNREFUSED") && !r.text.contains("db.ts"), "no stack trace reaches the client")
        #expect(r.header("X-Powered-By") == nil)
        try eventually {
            rampart.child.lines.contains { $0.contains("scrub-1") && $0.contains("ECONNREFUSED") && $0.contains("scrubbed") }
        }
        // scrub_errors: false passes the upstream's answer through.
        let passed = try HTTPClient.request(port: rampart.port, path: "/raw/anything")
        #expect(passed.status == 500 && passed.text == "Traceback: secret detail")
    }

    @Test func adminIsSeparateAndNeverCached() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        let onMain = try HTTPClient.request(port: rampart.port, path: "/admin/status")
        #expect(onMain.json["config_hash"] == nil, "the admin API is not served on the main listener")
        let status = try rampart.admin("GET", "/admin/status")
        #expect(status.header("Cache-Control") == "no-store")
        #expect(try rampart.admin("GET", "/admin/status", token: nil).header("Cache-Control") == "no-store")
    }
}

extension HTTPClient {
    /// Everything read so far and not consumed.
    func drain() -> [UInt8] { let b = peekBuffer(); clearBuffer(); return b }
}

@Suite(.serialized) struct ValidationIntegrationTests {
    @Test func schemaViolationsAnswer400WithPerFieldDetailsAndTrimmedBodiesAreForwarded() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: #"""
            [{"name": "estimate", "match": {"methods": ["POST"], "path": "/echo/estimates"},
              "validate": {"trim": true, "schema": {"type": "object", "additionalProperties": false, "required": ["customer"],
                "properties": {"customer": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}},
                               "email": {"type": "string", "format": "email"}, "qty": {"type": "integer", "minimum": 1}}}}},
             {"name": "default", "match": {"path_prefix": "/"}}]
            """#))
        let before = try app.requestCount()
        let bad = try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo/estimates",
                                         body: Array(#"{"customer": {}, "qty": 0, "hack": true}"#.utf8), headers: ["Content-Type": "application/json"])
        #expect(bad.status == 400)
        let error = try #require(bad.json["error"] as? [String: Any])
        #expect(error["code"] as? String == "VALIDATION_ERROR")
        let details = error["details"] as? [[String: String]] ?? []
        #expect(details.contains { $0["field"] == "customer.name" && $0["message"] == "Required field" })
        #expect(details.contains { $0["field"] == "qty" })
        #expect(details.contains { $0["field"] == "hack" && $0["message"] == "Unknown field" })
        let notJSON = try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo/estimates", body: Array("name=x".utf8))
        #expect(notJSON.status == 400)
        #expect(try app.requestCount() == before, "invalid bodies never reach the app")

        let good = try HTTPClient.request(port: rampart.port, method: "POST", path: "/echo/estimates",
                                          body: Array(#"{"customer": {"name": "  Ada  "}, "qty": 2}"#.utf8), headers: ["Content-Type": "application/json"])
        #expect(good.status == 200)
        #expect(good.json["body"] as? String == #"{"customer":{"name":"Ada"},"qty":2}"#, "trimmed before checks and forwarded trimmed")
    }
}
