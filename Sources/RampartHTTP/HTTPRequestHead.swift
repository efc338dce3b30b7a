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
///
/// The fields live in one box shared by every copy (the parser's result, the connection's state
/// machine, the request's context): handing a head on is one retain, not one per String. A
/// change copies the box first when another copy holds it, so it keeps value semantics.
public struct HTTPRequestHead: Sendable, Equatable {
    private final class Fields: @unchecked Sendable {
        var method: String
        var target: String
        var path: String
        var query: String?
        var versionMinor: Int
        var headers: HTTPHeaders
        var framing: BodyFraming
        var keepAlive: Bool
        var expectsContinue: Bool
        var connectionTokens: [String]

        init(method: String, target: String, path: String, query: String?, versionMinor: Int, headers: HTTPHeaders,
             framing: BodyFraming, keepAlive: Bool, expectsContinue: Bool, connectionTokens: [String]) {
            self.method = method; self.target = target; self.path = path; self.query = query
            self.versionMinor = versionMinor; self.headers = headers; self.framing = framing
            self.keepAlive = keepAlive; self.expectsContinue = expectsContinue; self.connectionTokens = connectionTokens
        }

        func copy() -> Fields {
            Fields(method: method, target: target, path: path, query: query, versionMinor: versionMinor, headers: headers,
                   framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue, connectionTokens: connectionTokens)
        }
    }

    /// Never changed while shared (`own()` copies it first), which is what makes the head Sendable.
    private var fields: Fields

    private mutating func own() -> Fields {
        if !isKnownUniquelyReferenced(&fields) { fields = fields.copy() }
        return fields
    }

    public var method: String {
        get { fields.method }
        set { own().method = newValue }
    }
    /// Origin-form "/path?query" exactly as sent, or "*" for OPTIONS.
    public var target: String {
        get { fields.target }
        set { own().target = newValue }
    }
    /// Target before the first '?'.
    public var path: String {
        get { fields.path }
        set { own().path = newValue }
    }
    /// Target after the first '?', nil when there is no '?'.
    public var query: String? {
        get { fields.query }
        set { own().query = newValue }
    }
    /// HTTP/1.0 -> 0, HTTP/1.1 -> 1.
    public var versionMinor: Int {
        get { fields.versionMinor }
        set { own().versionMinor = newValue }
    }
    public var headers: HTTPHeaders {
        get { fields.headers }
        _modify { yield &own().headers }
    }
    public var framing: BodyFraming {
        get { fields.framing }
        set { own().framing = newValue }
    }
    /// Per-version default adjusted by Connection tokens (close / keep-alive).
    public var keepAlive: Bool {
        get { fields.keepAlive }
        set { own().keepAlive = newValue }
    }
    /// Expect: 100-continue on an HTTP/1.1 request (ignored for 1.0, RFC 9110 §10.1.1).
    public var expectsContinue: Bool {
        get { fields.expectsContinue }
        set { own().expectsContinue = newValue }
    }
    /// Lowercased tokens of all Connection headers: hop-by-hop field names to strip when forwarding.
    public var connectionTokens: [String] {
        get { fields.connectionTokens }
        set { own().connectionTokens = newValue }
    }

    public init(
        method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(),
        framing: BodyFraming = .none, keepAlive: Bool = true, expectsContinue: Bool = false,
        connectionTokens: [String] = []
    ) {
        let path: String, query: String?
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<q])
            query = String(target[target.utf8.index(after: q)...])
        } else {
            path = target
            query = nil
        }
        fields = Fields(method: method, target: target, path: path, query: query, versionMinor: versionMinor, headers: headers,
                        framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue, connectionTokens: connectionTokens)
    }

    /// Parser's init: path and query were already sliced from the bytes.
    init(
        method: String, target: String, path: String, query: String?, versionMinor: Int, headers: HTTPHeaders,
        decision: HeadDecision, connectionTokens: [String]
    ) {
        fields = Fields(method: method, target: target, path: path, query: query, versionMinor: versionMinor, headers: headers,
                        framing: decision.framing, keepAlive: decision.keepAlive, expectsContinue: decision.expectsContinue,
                        connectionTokens: connectionTokens)
    }

    public static func == (a: HTTPRequestHead, b: HTTPRequestHead) -> Bool {
        if a.fields === b.fields { return true }
        return a.method == b.method && a.target == b.target && a.path == b.path && a.query == b.query
            && a.versionMinor == b.versionMinor && a.headers == b.headers && a.framing == b.framing && a.keepAlive == b.keepAlive
            && a.expectsContinue == b.expectsContinue && a.connectionTokens == b.connectionTokens
    }
}
