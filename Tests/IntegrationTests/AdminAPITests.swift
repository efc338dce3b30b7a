import Foundation
import Testing

@Suite(.serialized) struct AdminAPITests {
    /// Mutations answer only to POST or DELETE and reads only to GET, so a crawler, a prefetching
    /// browser or a mistyped curl can never change anything; every refusal is the SPEC §4 JSON error.
    @Test func mutationsArePostOrDeleteOnlyAndErrorsAreJSON() throws {
        let app = try DemoApp()
        let rampart = try RampartProcess(config: testConfig(upstream: app.url, upstreamExtra: #""circuit_breaker": {"consecutive_failures": 5}"#))
        func expectError(_ method: String, _ path: String, _ status: Int, _ code: String) throws {
            let r = try rampart.admin(method, path)
            let error = r.json["error"] as? [String: Any]
            #expect(r.status == status && error?["code"] as? String == code, "\(method) \(path) → \(r.status) \(r.text)")
            #expect((error?["message"] as? String)?.isEmpty == false && (error?["request_id"] as? String)?.isEmpty == false, "\(method) \(path)")
            #expect(r.header("Content-Type")?.hasPrefix("application/json") == true, "\(method) \(path)")
        }
        for path in ["/admin/reload", "/admin/config/validate", "/admin/breakers/app/open", "/admin/breakers/app/close",
                     "/admin/breakers/app/reset", "/admin/saves/01ABC/replay"] {
            try expectError("GET", path, 405, "METHOD_NOT_ALLOWED")
        }
        for path in ["/admin/status", "/admin/config", "/admin/breakers", "/admin/saves", "/metrics"] {
            try expectError("POST", path, 405, "METHOD_NOT_ALLOWED")
            try expectError("DELETE", path, 405, "METHOD_NOT_ALLOWED")
        }
        try expectError("PUT", "/admin/quotas?key=user:u1", 405, "METHOD_NOT_ALLOWED")
        try expectError("POST", "/admin/saves/01ABC", 405, "METHOD_NOT_ALLOWED")
        try expectError("GET", "/admin/saves/01ABC", 404, "NOT_FOUND")
        try expectError("DELETE", "/admin/saves/01ABC", 404, "NOT_FOUND")
        try expectError("POST", "/admin/breakers/nope/open", 404, "NOT_FOUND")
        try expectError("GET", "/admin/nothing-here", 404, "NOT_FOUND")
        // Nothing above changed state: the breaker is still closed and the config hash unchanged.
        let breakers = try rampart.admin("GET", "/admin/breakers").json["breakers"] as? [String: Any]
        #expect((breakers?["app"] as? [String: Any])?["state"] as? String == "closed")
        #expect(rampart.child.lines.filter { $0.contains("config reloaded") }.isEmpty)
    }

    /// Rotation without a restart: the new token is added to `admin.token_file`, a reload makes
    /// both work, and a second reload retires the old one. A token file with no token is refused
    /// and the running tokens stay.
    @Test func adminTokenRotatesThroughTheTokenFileAndReload() throws {
        let app = try DemoApp()
        let file = NSTemporaryDirectory() + "rampart-tokens-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: file) }
        let old = "old-token-5f1c9a", new = "new-token-b73e02"
        try "\(old)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let rampart = try RampartProcess(config: testConfig(upstream: app.url)
            .replacingOccurrences(of: #""token_env": "RAMPART_ADMIN_TOKEN""#, with: #""token_file": "\#(file)""#))
        #expect(try rampart.admin("GET", "/admin/status", token: old).status == 200)
        #expect(try rampart.admin("GET", "/admin/status", token: new).status == 403)

        try "# rotation in progress\n\(old)\n  \(new)  \n\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try rampart.admin("POST", "/admin/reload", token: old).status == 200)
        #expect(try rampart.admin("GET", "/admin/status", token: old).status == 200)
        #expect(try rampart.admin("GET", "/admin/status", token: new).status == 200)

        try "\(new)\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try rampart.admin("POST", "/admin/reload", token: new).status == 200)
        #expect(try rampart.admin("GET", "/admin/status", token: old).status == 403, "the old token is retired")
        #expect(try rampart.admin("GET", "/admin/status", token: new).status == 200)

        try "# nothing here\n".write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try rampart.admin("POST", "/admin/reload", token: new)
        #expect(refused.status == 400)
        #expect((refused.json["errors"] as? [[String: Any]])?.first?["path"] as? String == "admin.token_file", "\(refused.text)")
        #expect(try rampart.admin("GET", "/admin/status", token: new).status == 200, "a refused reload keeps the running tokens")
    }
}
