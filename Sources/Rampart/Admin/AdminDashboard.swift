import Foundation
import RampartLoop
import RampartTransport
import RampartProxy
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
    static func answer(_ head: HTTPRequestHead, connection: any ClientStream, requestID: String) -> ServerExchange? {
        guard head.path == path || head.path == "/admin" else { return nil }
        guard head.method == "GET" || head.method == "HEAD" else {
            var e = GatewayError(status: 405, code: "METHOD_NOT_ALLOWED", message: "\(head.method) is not allowed on \(head.path).")
            e.extraHeaders = [HTTPField(name: "Allow", value: "GET, HEAD")]
            return LocalExchange.error(connection, e, requestID: requestID, headers: nil)
        }
        var fields = AdminService.fixedFields + [HTTPField(name: "X-Frame-Options", value: "DENY"), HTTPField(name: "Referrer-Policy", value: "no-referrer")]
        if head.path == "/admin" {
            fields.append(HTTPField(name: "Location", value: path))
            return LocalExchange(connection: connection, head: LocalReply.head(status: 308, contentType: nil, bodyLength: 0, requestID: requestID,
                                                                               extra: fields, headersConfig: nil, tls: false), body: [])
        }
        // The page's own strict policy: script and style by hash, nothing from elsewhere.
        fields += [HTTPField(name: "Content-Security-Policy", value: contentSecurityPolicy),
                   HTTPField(name: "Cross-Origin-Opener-Policy", value: "same-origin"),
                   HTTPField(name: "Cross-Origin-Resource-Policy", value: "same-origin"),
                   HTTPField(name: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()")]
        return LocalExchange(connection: connection, head: LocalReply.head(status: 200, contentType: "text/html; charset=utf-8", bodyLength: page.count,
                                                                           requestID: requestID, extra: fields, headersConfig: nil, tls: false), body: page)
    }
}
