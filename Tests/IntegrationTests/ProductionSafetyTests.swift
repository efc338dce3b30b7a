import Foundation
import Glibc
import Testing

/// Day-one production safety (issue 15): no open admin API, a token-free metrics listener,
/// an audit trail, one access-log schema, a taken port refused at start, a secret-free check.
@Suite(.serialized) struct ProductionSafetyTests {
    private func config(admin: String, app: DemoApp, routes: String? = nil, extraTop: String = "") -> String {
        testConfig(upstream: app.url, routes: routes, extraTop: extraTop)
            .replacingOccurrences(of: #""admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"}"#, with: #""admin": \#(admin)"#)
    }

    /// No token configured: every admin call is refused with a sentence saying why, the start log
    /// warns, and the refused mutation leaves an audit line.
    @Test func adminWithoutTokenRefusesEveryCall() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: config(admin: #"{"listen": "127.0.0.1:0"}"#, app: app))
        let reload = try rampart.admin("POST", "/admin/reload", token: nil)
        #expect(reload.status == 401)
        #expect(reload.text.contains("no token configured"), "\(reload.text)")
        #expect(try rampart.admin("GET", "/admin/status", token: nil).status == 401)
        #expect(try rampart.admin("GET", "/admin/status", token: "guess").status == 401)
        #expect(rampart.child.lines.contains { $0.contains(#""level":"warn""#) && $0.contains("refuses every call") })
        try eventually { rampart.child.lines.contains { $0.contains(#""type":"audit""#) && $0.contains(#""path":"/admin/reload""#) && $0.contains(#""status":401"#) } }
    }

    /// The opt-out works only when spelled out, and is announced as insecure at every start.
    @Test func insecureNoAuthIsExplicitAndLoud() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: config(admin: #"{"listen": "127.0.0.1:0", "insecure_no_auth": true}"#, app: app))
        #expect(try rampart.admin("GET", "/admin/status", token: nil).status == 200)
        #expect(rampart.child.lines.contains { $0.contains(#""level":"warn""#) && $0.contains("INSECURE: admin.insecure_no_auth") })
    }

    /// An admin listener off loopback is plain HTTP: the start log says tokens cross in clear text.
    @Test func adminOffLoopbackWarns() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: config(admin: #"{"listen": "0.0.0.0:0", "token_env": "RAMPART_ADMIN_TOKEN"}"#, app: app))
        #expect(rampart.child.lines.contains { $0.contains(#""level":"warn""#) && $0.contains("clear text") })
    }

    /// Prometheus scrapes the metrics listener without a token (process_* and build info included);
    /// that listener serves nothing else, and the admin listener still wants its token.
    @Test func metricsListenerNeedsNoTokenAndServesOnlyMetrics() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: config(
            admin: #"{"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN", "metrics_listen": "127.0.0.1:0"}"#, app: app))
        let line = try rampart.child.waitForLine(containing: "rampart listening")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let metricsPort = try #require((obj["metrics"] as? String)?.split(separator: ":").last.flatMap { UInt16($0) })
        _ = try HTTPClient.request(port: rampart.port, path: "/echo/x")

        let scrape = try HTTPClient.request(port: metricsPort, path: "/metrics")
        #expect(scrape.status == 200)
        let parsed = try MetricsScrape.parse(scrape.text)
        #expect(parsed.value("process_resident_memory_bytes") > 1_000_000)
        #expect(parsed.value("process_open_fds") > 3)
        #expect(parsed.value("process_max_fds") > 0)
        #expect(parsed.value("process_cpu_seconds_total") >= 0 && parsed.types["process_cpu_seconds"] == "counter")
        #expect(abs(parsed.value("process_start_time_seconds") - Date().timeIntervalSince1970) < 600)
        #expect(parsed.samples.contains { $0.name == "rampart_build_info" && $0.labels["version"] != nil && $0.labels["openssl"] != nil && $0.value == 1 })
        #expect(parsed.value("rampart_requests_total") >= 1)

        #expect(try HTTPClient.request(port: metricsPort, path: "/admin/status").status == 404)
        #expect(try HTTPClient.request(port: metricsPort, method: "POST", path: "/metrics").status == 405)
        #expect(try rampart.admin("GET", "/metrics", token: nil).status == 401)
    }

    /// Every mutating admin call writes who (the token's non-secret id), what and how it ended;
    /// reads write none.
    @Test func mutatingAdminCallsAreAudited() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url))
        #expect(try rampart.admin("POST", "/admin/reload").status == 200)
        #expect(try rampart.admin("DELETE", "/admin/quotas?key=user:u1").status < 500)
        #expect(try rampart.admin("GET", "/admin/breakers").status == 200)
        #expect(try rampart.admin("DELETE", "/admin/saves/nope").status == 404)

        let tokenID = "sha256:" + String(try sha256Hex(RampartProcess.adminToken).prefix(12))
        var audits: [[String: Any]] = []
        try eventually {
            audits = rampart.child.lines.compactMap { l in
                guard l.contains(#""type":"audit""#) else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any]
            }
            return audits.count >= 3
        }
        #expect(audits.count == 3, "GET must not be audited: \(audits)")
        let open = audits.first { $0["path"] as? String == "/admin/reload" }
        #expect(open?["token_id"] as? String == tokenID && open?["status"] as? Int == 200 && open?["result"] as? String == "ok")
        let quota = audits.first { $0["path"] as? String == "/admin/quotas" }
        #expect(quota?["method"] as? String == "DELETE" && quota?["query"] as? String == "key=user:u1")
        let missing = audits.first { $0["path"] as? String == "/admin/saves/nope" }
        #expect(missing?["status"] as? Int == 404 && (missing?["result"] as? String ?? "").count > 3)
        #expect(!rampart.child.lines.joined().contains(RampartProcess.adminToken), "the token itself must never be logged")
    }

    /// One schema for every response: proxied, Rampart's own error, a parser refusal; true
    /// bytes_out for local replies; the query logged with secrets masked; a 401 says why.
    @Test func accessLogHasOneSchemaAndRedactsQuerySecrets() throws {
        let app = try DemoApp()
        let routes = #"""
        [{"name": "private", "match": {"path_prefix": "/echo/private"}, "auth": "required"},
         {"name": "default", "match": {"path_prefix": "/echo"}}]
        """#
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, routes: routes,
                                                            extraTop: #""identity": {"trusted_header": "X-User-Id"}, "logging": {"redact_query_params": ["token", "Sig"]}"#))
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/q?page=2&token=s3cret&SIG=abc&x=").status == 200)
        let notFound = try HTTPClient.request(port: rampart.port, path: "/nowhere")
        #expect(notFound.status == 404)
        #expect(try HTTPClient.request(port: rampart.port, path: "/echo/private").status == 401)
        let bad = try HTTPClient(port: rampart.port)
        try bad.send("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(try bad.readResponse().status == 400)

        var lines: [[String: Any]] = []
        try eventually { lines = rampart.accessLog; return lines.count >= 4 }
        let keys = Set(lines[0].keys)
        for l in lines { #expect(Set(l.keys) == keys, "fields differ: \(l)") }
        let proxied = try #require(lines.first { $0["path"] as? String == "/echo/q" })
        #expect(proxied["query"] as? String == "page=2&token=[redacted]&SIG=[redacted]&x=")
        #expect(!rampart.child.lines.joined().contains("s3cret"))
        let local = try #require(lines.first { $0["path"] as? String == "/nowhere" })
        #expect(local["bytes_out"] as? Int == notFound.body.count)
        let unauthorized = try #require(lines.first { $0["status"] as? Int == 401 })
        #expect((unauthorized["reason"] as? String ?? "").contains("no credentials"), "\(unauthorized)")
        let refused = try #require(lines.first { $0["status"] as? Int == 400 })
        #expect((refused["bytes_out"] as? Int ?? 0) > 0 && refused["error"] as? String == "BAD_REQUEST")
    }

    /// A second gateway on a port the first holds fails at start, naming the port, instead of
    /// sharing the traffic through SO_REUSEPORT.
    @Test func takenPortFailsAtStartNamingIt() throws {
        let app = try DemoApp()
        let first = try RampartProcess(config: testConfig(upstream: app.url))
        let config = testConfig(upstream: app.url).replacingOccurrences(of: #""listen": "127.0.0.1:0", "workers""#,
                                                                        with: #""listen": "127.0.0.1:\#(first.port)", "workers""#)
        let path = first.dir + "/second.json"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let second = try ChildProcess(Binaries.rampart, ["serve", "--config", path], environment: ["RAMPART_ADMIN_TOKEN": "x"])
        #expect(try second.waitForExit() == 1)
        let out = second.lines.joined(separator: "\n")
        #expect(out.contains("port \(first.port)") && out.contains("server.listen"), "\(out)")
        #expect(try HTTPClient.request(port: first.port, path: "/echo/still").status == 200)
    }

    /// `check` needs no secrets and lists what serve will need; --help and --version follow the
    /// conventions (stdout, exit 0); a usage mistake goes to stderr with exit 2.
    @Test func commandLineFollowsConventions() throws {
        let check = try ChildProcess(Binaries.rampart, ["check", "--config", Binaries.repoRoot + "/gateway.json"],
                                     environment: ["RAMPART_ADMIN_TOKEN": ""], cwd: NSTemporaryDirectory())
        #expect(try check.waitForExit() == 0, "\(check.lines)")
        let out = check.lines.joined(separator: "\n")
        #expect(out.contains("admin.token_file") && out.contains("missing here"), "check must list the token file serve reads: \(out)")
        for flag in ["--help", "help", "-h"] {
            let p = try ChildProcess(Binaries.rampart, [flag])
            #expect(try p.waitForExit() == 0)
            #expect(p.lines.first?.hasPrefix("usage: rampart") == true)
        }
        let version = try ChildProcess(Binaries.rampart, ["--version"])
        #expect(try version.waitForExit() == 0)
        #expect(version.lines.first?.hasPrefix("rampart ") == true)
        let wrong = try ChildProcess(Binaries.rampart, ["--bogus"])
        #expect(try wrong.waitForExit() == 2)
    }
}

/// sha256 as hex, through the system's sha256sum (the test target links no crypto).
func sha256Hex(_ text: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    let input = Pipe(), output = Pipe()
    p.standardInput = input; p.standardOutput = output
    try p.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    p.waitUntilExit()
    return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}
