import Foundation
import RampartHTTP

/// `GET /admin/`: the ops dashboard, one self-contained HTML page (SPEC §9). It is served without
/// the token because it holds no data: the page asks for the token, keeps it in `sessionStorage`
/// and sends it with every admin API call it makes. Nothing is loaded from anywhere else, and its
/// own CSP allows exactly its one inline style and one inline script, by hash.
enum AdminDashboard {
    static let path = "/admin/"

    /// The whole page, built once.
    static let page: [UInt8] = Array((AdminDashboardPage.head
        + "<style>" + AdminDashboardPage.style + "</style>\n</head>\n"
        + AdminDashboardPage.body
        + "<script>" + AdminDashboardScript.source + "</script>\n</body>\n</html>\n").utf8)

    /// Hashes of the exact inline text, so no `'unsafe-inline'` is needed (inline event handlers and
    /// injected markup would not run even if a value escaped its `textContent`).
    static let contentSecurityPolicy = [
        "default-src 'none'",
        "script-src '\(sourceHash(AdminDashboardScript.source))'",
        "style-src '\(sourceHash(AdminDashboardPage.style))'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// A CSP source expression: `sha256-<base64 of the digest>`.
    static func sourceHash(_ text: String) -> String {
        "sha256-" + Data(SHA256.digest(Array(text.utf8))).base64EncodedString()
    }

    /// The page for GET/HEAD `/admin/`, a 308 from `/admin` to it, 405 for other methods there;
    /// nil for every other path (those need the token).
    static func answer(_ head: HTTPRequestHead, connection: HTTPConnection, requestID: String) -> ServerExchange? {
        guard head.path == path || head.path == "/admin" else { return nil }
        guard head.method == "GET" || head.method == "HEAD" else {
            var e = GatewayError(status: 405, code: "METHOD_NOT_ALLOWED", message: "\(head.method) is not allowed on \(head.path).")
            e.extraHeaders = [HTTPField(name: "Allow", value: "GET, HEAD")]
            return LocalExchange.error(connection, e, requestID: requestID, headers: nil)
        }
        var h = HTTPHeaders()
        h.add("X-Request-Id", requestID)
        h.add("Cache-Control", "no-store")
        h.add("X-Content-Type-Options", "nosniff")
        h.add("X-Frame-Options", "DENY")
        h.add("Referrer-Policy", "no-referrer")
        if head.path == "/admin" {
            h.add("Location", path)
            h.add("Content-Length", "0")
            return LocalExchange(connection: connection, head: HTTPResponseHead(status: 308, headers: h), body: [])
        }
        h.add("Content-Type", "text/html; charset=utf-8")
        h.add("Content-Security-Policy", contentSecurityPolicy)
        h.add("Cross-Origin-Opener-Policy", "same-origin")
        h.add("Cross-Origin-Resource-Policy", "same-origin")
        h.add("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        h.add("Content-Length", String(page.count))
        return LocalExchange(connection: connection, head: HTTPResponseHead(status: 200, headers: h), body: page)
    }
}
