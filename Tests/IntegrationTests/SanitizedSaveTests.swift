import Foundation
import Testing

/// Sanitized saves (SPEC §11.13): the anthropic SDK streams what the model said, untouched; the app
/// stores it cleaned (`"sanitize": "html"`) or escaped (`"text"`), and `save_status` says how much.
@Suite(.serialized) struct SanitizedSaveTests {
    static func config(provider: String, app: String, dir: String) -> String {
        func route(_ name: String, _ path: String, _ mode: String) -> String {
            """
            {"name": "\(name)", "match": {"methods": ["POST"], "path": "\(path)"}, "upstream": "provider", "format": "anthropic",
             "stream_save": {"save": {"upstream": "app", "method": "PUT", "url": "/api/chapters/{header.X-Chapter-Id}/content",
                                      "body": {"content": "{content}"}, "attempts": 1}, "sanitize": "\(mode)"}}
            """
        }
        return """
        {
          "server": {"listen": "127.0.0.1:0", "workers": 2},
          "admin": {"listen": "127.0.0.1:0", "token_env": "RAMPART_ADMIN_TOKEN"},
          "store": {"kind": "memory", "dir": "\(dir)"},
          "upstreams": {"provider": {"url": "\(provider)"}, "app": {"url": "\(app)"}},
          "routes": [\(route("pages", "/v1/messages", "html")), \(route("notes", "/text/v1/messages", "text"))]
        }
        """
    }

    @Test func theAppStoresCleanedHTMLWhileTheClientSeesWhatTheModelSaid() throws {
        let provider = try FakeProvider()
        let app = try DemoApp()
        let dir = NSTemporaryDirectory() + "rampart-sanitized-" + UUID().uuidString
        let rampart = try RampartProcess(config: Self.config(provider: provider.url, app: app.url, dir: dir))

        let raw = "<p onclick=\"steal()\">Hi <b>there</b><script>alert(1)</script> <a href=\"javascript:alert(2)\">x</a></p>"
        let html = try VerifiedSaveTests.stream(rampart, chapter: "s1", says: raw)
        #expect(html.text == raw, "the client's stream is untouched")
        #expect(html.status["success"] as? Bool == true, "\(html.status)")
        #expect(html.status["sanitized"] as? Int == 3, "script, onclick, the javascript: href: \(html.status)")
        #expect(VerifiedSaveTests.saved(app, "s1") == "<p>Hi <b>there</b> <a>x</a></p>")

        let clean = "<h2>Day 1</h2><p>Walk to <a href=\"https://example.com/castle\">the castle</a>.</p>"
        let kept = try VerifiedSaveTests.stream(rampart, chapter: "s2", says: clean)
        #expect(kept.status["sanitized"] as? Int == 0, "\(kept.status)")
        #expect(VerifiedSaveTests.saved(app, "s2") == clean, "formatted HTML is stored as it came")

        let (exit, out) = try runPython("-c", [VerifiedSaveTests.script, "http://127.0.0.1:\(rampart.port)/text", "s3", "<b>Tom & Jerry</b>"])
        #expect(exit == 0, "\(out)")
        #expect(out.contains("\"sanitized\": 5"), "text mode counts the escaped characters: \(out)")
        #expect(VerifiedSaveTests.saved(app, "s3") == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;")

        let metrics = try rampart.admin("GET", "/metrics").text
        #expect(metrics.contains("rampart_save_sanitized_total{route=\"pages\"} 3"), "\(metrics)")
        #expect(metrics.contains("rampart_save_sanitized_total{route=\"notes\"} 5"), "\(metrics)")
    }
}
