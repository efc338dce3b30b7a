/// How the request body is delimited; `none` means no body (RFC 9112 §6.3: a
/// request without Content-Length or Transfer-Encoding has length zero).
public enum BodyFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
}

/// A validated request head. Only origin-form targets (or "*" for OPTIONS) ever
/// appear here: absolute-form, authority-form and CONNECT are refused because a
/// reverse proxy must route on its own config, never on a client-chosen authority.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// Origin-form "/path?query" exactly as sent, or "*" for OPTIONS.
    public var target: String
    /// Target before the first '?'.
    public var path: String
    /// Target after the first '?', nil when there is no '?'.
    public var query: String?
    /// HTTP/1.0 -> 0, HTTP/1.1 -> 1.
    public var versionMinor: Int
    public var headers: HTTPHeaders
    public var framing: BodyFraming
    /// Per-version default adjusted by Connection tokens (close / keep-alive).
    public var keepAlive: Bool
    /// Expect: 100-continue on an HTTP/1.1 request (ignored for 1.0, RFC 9110 §10.1.1).
    public var expectsContinue: Bool
    /// Lowercased tokens of all Connection headers: hop-by-hop field names to strip when forwarding.
    public var connectionTokens: [String]

    public init(
        method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(),
        framing: BodyFraming = .none, keepAlive: Bool = true, expectsContinue: Bool = false,
        connectionTokens: [String] = []
    ) {
        self.method = method
        self.target = target
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<q])
            query = String(target[target.utf8.index(after: q)...])
        } else {
            path = target
            query = nil
        }
        self.versionMinor = versionMinor
        self.headers = headers
        self.framing = framing
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        self.connectionTokens = connectionTokens
    }

    /// Parser's init: path and query were already sliced from the bytes.
    init(
        method: String, target: String, path: String, query: String?, versionMinor: Int, headers: HTTPHeaders,
        decision: HeadDecision, connectionTokens: [String]
    ) {
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.versionMinor = versionMinor
        self.headers = headers
        self.framing = decision.framing
        self.keepAlive = decision.keepAlive
        self.expectsContinue = decision.expectsContinue
        self.connectionTokens = connectionTokens
    }
}
