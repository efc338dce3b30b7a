/// An HTTP/2 request's header list as the HTTP/1.1 request Rampart forwards (RFC 9113 §8.3 and
/// its downgrade rules), held to exactly the strictness of the HTTP/1.1 front door: the request is
/// written as HTTP/1.1 and read back by `HTTPRequestParser`, so nothing reaches a route or an
/// upstream over HTTP/2 that the HTTP/1.1 parser would refuse, and no header value can smuggle a
/// line or a second request into the downgrade (H2.CL/H2.TE and CRLF-injection attacks).
public struct HTTP2RequestMapping: Sendable {
    public private(set) var method: String?
    public private(set) var path: String?
    public private(set) var authority: String?
    /// `:protocol` of an Extended CONNECT (RFC 8441), `websocket` for a WebSocket.
    public private(set) var extendedProtocol: String?
    private var fields: [HTTPField] = []
    private var cookies: [String] = []
    private var sawRegular = false
    private var problem: HTTPParseError?

    public init() {}

    /// One field as decoded by HPACK, in order.
    public mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard problem == nil else { return }
        // A CR, LF or NUL anywhere would become a line of its own in HTTP/1.1 (RFC 9113 §8.2.1).
        if value.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) { problem = .badRequest("Invalid character in header value"); return }
        // Nor may a value start or end with whitespace, which HTTP/1.1 would trim (RFC 9113 §8.2.1).
        if let f = value.first, let l = value.last, ByteClass.isOWS(f) || ByteClass.isOWS(l) {
            problem = .badRequest("Whitespace around a header value"); return
        }
        guard let first = name.first else { problem = .badRequest("Empty header name"); return }
        let v = String(decoding: value, as: UTF8.self)
        if first == UInt8(ascii: ":") {
            if sawRegular { problem = .badRequest("Pseudo-header after a regular header"); return }
            switch String(decoding: name, as: UTF8.self) {
            case ":method" where method == nil: method = v
            case ":path" where path == nil: path = v
            case ":authority" where authority == nil: authority = v
            case ":protocol" where extendedProtocol == nil: extendedProtocol = v
            case ":scheme": break
            default: problem = .badRequest("Unknown or repeated pseudo-header")
            }
            return
        }
        sawRegular = true
        // Lowercase tokens only (RFC 9113 §8.2.1); uppercase would be a malformed request.
        guard name.allSatisfy({ ByteClass.isTChar($0) && !($0 >= 0x41 && $0 <= 0x5A) }) else {
            problem = .badRequest("Invalid character in header name"); return
        }
        let n = String(decoding: name, as: UTF8.self)
        switch n {
        case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
            problem = .badRequest("Connection-specific header field in HTTP/2")
        case "te" where v != "trailers":
            problem = .badRequest("TE other than trailers in HTTP/2")
        case "cookie": cookies.append(v)   // split crumbs are joined again for HTTP/1.1 (RFC 9113 §8.2.3)
        case "host": if authority == nil { authority = v }
        default: fields.append(HTTPField(name: n, value: v))
        }
    }

    /// The HTTP/1.1 request, or why the stream's request is malformed. `endStream`: the HEADERS
    /// frame ended the stream (no body). An Extended CONNECT comes back as a GET upgrade
    /// (`Connection: Upgrade`, `Upgrade: websocket`) without a key: the caller adds its nonce.
    public func head(endStream: Bool, limits: HTTPLimits) -> Result<HTTPRequestHead, HTTPParseError> {
        if let problem { return .failure(problem) }
        guard var method else { return .failure(.badRequest("Missing :method")) }
        var upgrade = false
        if let p = extendedProtocol {
            guard method == "CONNECT", p == "websocket" else { return .failure(.notImplemented("Extended CONNECT supports only the websocket protocol")) }
            method = "GET"
            upgrade = true
        } else if method == "CONNECT" {
            return .failure(.badRequest("CONNECT is not supported: Rampart is a reverse proxy"))
        }
        guard let path, path.hasPrefix("/") || (path == "*" && method == "OPTIONS") else { return .failure(.badRequest("Invalid :path")) }
        var text = method + " " + path + " HTTP/1.1\r\n"
        if let authority { text += "Host: " + authority + "\r\n" }
        if !cookies.isEmpty { text += "Cookie: " + cookies.joined(separator: "; ") + "\r\n" }
        for f in fields { text += f.name + ": " + f.value + "\r\n" }
        if upgrade { text += "Connection: Upgrade\r\nUpgrade: websocket\r\n" }
        // A body without a length streams as chunks; one with a length keeps it (nghttp2 holds the
        // DATA frames to it). None at all when the HEADERS frame ended the stream.
        else if !endStream && !fields.contains(where: { $0.name == "content-length" }) { text += "Transfer-Encoding: chunked\r\n" }
        text += "\r\n"
        let bytes = Array(text.utf8)
        let parsed = bytes.withUnsafeBytes { HTTPRequestParser.parseHead($0, limits: limits) }
        switch parsed {
        case .complete(var head, let consumed) where consumed == bytes.count:
            if endStream, case .contentLength(let n) = head.framing, n > 0 { return .failure(.badRequest("Content-Length without a body")) }
            if endStream { head.framing = .none }
            return .success(head)
        case .failure(let e): return .failure(e)
        default: return .failure(.badRequest("Malformed request"))
        }
    }
}
